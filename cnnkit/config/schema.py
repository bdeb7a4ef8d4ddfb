"""Schemas of the keys every run shares: the top level, `trainer`, and the commands' own sections.

Groups whose keys depend on the chosen component (`data`, `model`, `task`, `optimizer`) take their
schema from that component's registry entry; see `cnnkit.config.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cnnkit.config.check import setting

#: the version of the config layout; `config.yaml` in a run directory records it, and
#: `cnnkit.config.migrate` upgrades older run configs to it
SCHEMA_VERSION = 2


@dataclass
class TrainerSchema:
    epochs: int = setting(10, min=1)
    verbose: Literal["auto"] | int = setting("auto", min=0, max=2)
    steps_per_execution: Literal["auto"] | int = setting("auto", min=1)
    jit_compile: Literal["auto"] | bool = "auto"
    mixed_precision: Literal["auto"] | bool = "auto"
    threads: Literal["auto"] | int = setting("auto", min=1)  # TensorFlow's threads per op
    distribute: Literal["auto", "none", "mirrored", "multi_worker"] = "auto"
    monitor: str = "val_loss"
    monitor_mode: Literal["auto", "min", "max"] = "auto"
    restore_best: bool = True
    early_stopping_patience: int = setting(0, min=0)
    early_stopping_monitor: str | None = None  # null: trainer.monitor
    early_stopping_min_delta: float = setting(0.0, min=0)
    reduce_lr_patience: int = setting(0, min=0)
    reduce_lr_factor: float = setting(0.5, gt=0, lt=1)
    tensorboard: bool = False
    tensorboard_histograms: int = setting(0, min=0)  # weight histograms every N epochs; 0: off
    ema: float | None = setting(None, gt=0, lt=1)
    accumulate_steps: int = setting(1, min=1)
    max_time: str | int | None = None  # "2h", "90m", "1h30m", seconds
    deterministic: bool = False
    evaluate_on: list[str] = field(default_factory=list)
    batch_per_replica: bool = False  # data.batch_size: global (false) or per replica (true)
    lr_scaling: Literal["none", "linear", "sqrt"] = "none"  # by the number of replicas


@dataclass
class LoggerSchema:
    """conf/logger/*.yaml: where metrics go besides history.csv (and TensorBoard)."""

    name: Literal["none", "mlflow"] = "none"
    # mlflow: null -> $MLFLOW_TRACKING_URI, else a local SQLite store beside the run dirs
    tracking_uri: str | None = None
    experiment: str | None = None  # mlflow: null -> the run's `name`
    log_model: bool = True  # mlflow: false leaves model.keras out of the artefacts


@dataclass
class AugmentSchema:
    """Each transform is checked by its own registry entry (`cnnkit.augment`)."""

    where: Literal["pipeline", "model"] = "pipeline"
    transforms: list[Any] = field(default_factory=list)


@dataclass
class SummarySchema:
    format: Literal["table", "json"] = "table"


@dataclass
class InspectSchema:
    output: str = "outputs/data/default/samples.png"
    num_samples: int = setting(16, min=1)


EXPLAIN_METHODS = ("gradcam", "gradcam++", "saliency", "occlusion", "feature_maps", "filters",
                   "top_activations", "embedding")


@dataclass
class ExplainSchema:
    """`cnnkit explain`'s keys (`method=`, `layer=`, `class=` are given without the prefix)."""

    method: Literal["gradcam", "gradcam++", "saliency", "occlusion", "feature_maps", "filters",
                    "top_activations", "embedding"] = "gradcam"
    layer: str | None = None  # null: the last convolution (feature_maps: the first)
    unit: str | None = None  # `class=`: an index or a name; null: the predicted class
    head: str | None = None  # multi-task: the head to explain (null: the first)
    variant: Literal["vanilla", "smoothgrad", "integrated_gradients"] = "vanilla"  # saliency
    samples: int = setting(25, min=1)  # SmoothGrad's noisy copies
    noise: float = setting(0.15, min=0)  # SmoothGrad's noise, a fraction of the input range
    steps: int = setting(32, min=1)  # integrated gradients' path steps
    patch: int | None = setting(None, min=1)  # occlusion; null: an eighth of the input size
    stride: int | None = setting(None, min=1)  # occlusion; null: half the patch
    channels: list[int] = field(default_factory=lambda: [0, 1, 2, 3])  # top_activations
    top: int = setting(8, min=1)  # top_activations: inputs per channel
    split: str = "val"  # top_activations and embedding over a split (`input=split`)
    perplexity: float | None = setting(None, gt=0)  # embedding; null: 30, less for small sets
    batch: int = setting(32, min=1)


@dataclass
class PredictSchema:
    """`cnnkit predict`'s `predict.*` keys: the sliding window (tasks/sliding_window.py) over
    inputs larger than the window, used when the run trained on patches or `window` is given."""

    window: list[int] | None = setting(None, min_items=1)  # null: the training patch
    overlap: float = setting(0.5, min=0, lt=1)  # of the window, between neighbours
    batch_size: int = setting(8, min=1)  # windows predicted at once


@dataclass
class AttackSchema:
    """`cnnkit evaluate attack=fgsm|pgd`: adversarial robustness at each eps."""

    name: Literal["none", "fgsm", "pgd"] = "none"
    eps: list[float] = field(default_factory=lambda: [0.0, 0.01, 0.03, 0.1])  # of the raw range
    steps: int = setting(10, min=1)  # PGD iterations
    step_size: float | None = setting(None, gt=0)  # PGD; null: 2.5 eps / steps
    seed: int = 0  # PGD's random start


@dataclass
class InferenceSchema:
    """`cnnkit evaluate` and `cnnkit predict`'s own keys, given on their command line."""

    # test-time augmentation (cnnkit/tasks/tta.py): flips = the input and its mirror image,
    # flips_all = every combination of spatial flips; probabilities averaged
    tta: Literal["none", "flips", "flips_all"] = "none"


@dataclass
class ConvertSchema:
    """`cnnkit data convert`: where the records go and how (see cnnkit/data/records.py)."""

    output: str = ""
    shard_mb: float = setting(128.0, gt=0)  # about this many MB per shard
    shuffle: bool = True  # write the training split in a seeded random order (files, arrays)
    overwrite: bool = False  # replace records already in `output`


@dataclass
class RootSchema:
    """Top-level keys; `summary`, `inspect` and `convert` belong to the commands of those names."""

    name: str = "default"
    seed: int = 42
    debug: bool = False
    schema_version: int = setting(SCHEMA_VERSION, min=1)
    summary: SummarySchema | None = None
    inspect: InspectSchema | None = None
    convert: ConvertSchema | None = None
