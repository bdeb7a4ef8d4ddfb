"""The interface every task implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class PredictionTable:
    """Predictions as a table, one row per input (id first): the task says what the columns
    mean, `cnnkit.io.predictions` writes the file."""

    header: list[str]
    rows: list[list[Any]]
    float_format: str = ".6g"  # how float cells are written


@dataclass
class PredictionImages:
    """One output image or volume (spatial..., C) per input, and how the task wants it stored."""

    arrays: list[Any]
    output_format: str  # auto | png | nifti | npy (`task.output_format`)
    png_scale: float  # PNG values are array x png_scale, as 8-bit
    #: the arrays are label masks of these classes: the writer adds a per-input summary, and
    #: PNGs of more than two classes are palette images (class indices as pixel values)
    class_names: list[str] | None = None


class Task:
    """Losses, metrics, reports and the meaning of predictions for one kind of target.

    Life cycle: `train` calls `complete_model_config`, `fit` (then saves `state` in the run),
    `target_fn`, `loss`, `metrics` and `fit_options`; `evaluate`/`predict` call `restore_state`
    with the saved state first, so what `fit` learned (target normalisation) is applied the
    same way. Tasks write no files: `cnnkit.io` stores their state and predictions.
    """

    name = "task"
    #: what the target is, so augmentation and preprocessing know how to move it with the image:
    #: "label" | "mask" | "boxes" | "values" | "image", or a dict head name -> kind (multi-task)
    target_kind: Any = "label"
    #: how `cnnkit predict` stores the outputs (`cnnkit.io.predictions` picks the writer):
    #: "table" (a CSV), "counts" (a CSV and the maps beside it), "images" (one file per input),
    #: "images_and_embeddings" (autoencoder), "heads" (multi-task: each head as it would alone)
    output_kind = "table"

    def __init__(self, cfg: Any, run_cfg: Any = None) -> None:
        self.cfg = cfg
        self.run_cfg = run_cfg  # the whole run config (augmentation, data), when the caller has it
        self.state: dict[str, Any] = {}
        #: per-sample results of the last `evaluate` (true targets, outputs, per-sample scores),
        #: which evaluate's plots and bootstrap intervals read; empty before
        self.samples: dict[str, Any] = {}

    def option(self, key: str, default: Any = None) -> Any:
        """`task.<key>`, or `default` when absent or null."""
        value = self.cfg.get(key) if self.cfg is not None else None
        return default if value is None else value

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None,
                              input_shape: list[int] | None = None) -> None:
        """Fill what the model spec leaves to the data and task (`num_classes`,
        `output_activation`); `input_shape` is the model input (channels last)."""

    def fit(self, data: Any) -> None:
        """Learn what the task needs from the training split (a `PreparedData`) into `state`."""

    def restore_state(self, state: dict[str, Any]) -> None:
        """Take back what `fit` learned (as saved in the run directory)."""
        self.state = dict(state)

    def target_fn(self) -> Any:
        """A tf function applied to each raw target in the pipeline (None: unchanged)."""
        return None

    def fit_options(self) -> dict[str, Any]:
        """Extra keyword arguments for `model.fit` (e.g. `class_weight`)."""
        return {}

    def loss(self, model: Any) -> Any:
        raise NotImplementedError

    def metrics(self, model: Any) -> list[Any]:
        raise NotImplementedError

    def finalize(self, model: Any, outputs: Any) -> Any:
        """The model's raw outputs -> what `predict` reports (probabilities, target units).

        Written with `keras.ops`, so it runs on arrays and inside an exported graph alike."""
        return outputs

    def probability_activation(self, model: Any) -> str | None:
        """"softmax" or "sigmoid": how the model's raw outputs become probabilities, so that
        test-time augmentation averages probabilities; None: they are averaged as they are."""
        return None

    def predict(self, model: Any, inputs: Any) -> Any:
        """Model outputs for a batch or dataset, in the form `prediction_table` expects."""
        import numpy as np

        return np.asarray(self.finalize(model, model.predict(inputs, verbose=0)))

    def bootstrap_statistic(self) -> Any:
        """A function of resampled sample indices -> the report's scalar metrics on them,
        from `samples` (None: the task reports no confidence intervals)."""
        return None

    def predict_samples(self, model: Any, raw_inputs: Any, preprocessing: Any) -> Any:
        """Outputs for raw inputs (an array batch, or a list of arrays of different sizes).

        Tasks with image outputs override this to run each input at its own size."""
        return self.predict(model, preprocess_batch(raw_inputs, preprocessing))

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        """Metrics on a dataset: a flat JSON-able dict (per-class entries included)."""
        raise NotImplementedError

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        raise NotImplementedError

    def prediction_table(self, outputs: Any, ids: list[str],
                         class_names: list[str] | None) -> PredictionTable:
        """The rows `cnnkit predict` writes for tasks whose `output_kind` is a table."""
        raise NotImplementedError

    def prediction_images(self, outputs: Any) -> PredictionImages:
        """The images `cnnkit predict` writes for tasks whose `output_kind` is images."""
        raise NotImplementedError


def preprocess_batch(inputs: Any, preprocessing: Any) -> Any:
    """Apply a run's preprocessing to an array batch or a list of differently sized inputs."""
    import numpy as np

    if isinstance(inputs, np.ndarray):
        return np.asarray(preprocessing(inputs))
    return np.stack([np.asarray(preprocessing(x[np.newaxis]))[0] for x in inputs])


def print_metrics_table(report: dict[str, Any], console: Any, title: str = "Metrics") -> None:
    """The scalar entries of a report as a table, with their 95% bootstrap interval if any."""
    from rich.table import Table

    intervals = report.get("ci95") or {}
    table = Table(title=title, show_header=False)
    for key, value in report.items():
        if isinstance(value, float):
            low_high = intervals.get(key)
            table.add_row(key, f"{value:.4f}",
                          f"95% CI [{low_high[0]:.4f}, {low_high[1]:.4f}]" if low_high else "")
        elif isinstance(value, int) and not isinstance(value, bool):
            table.add_row(key, str(value))
    console.print(table)
