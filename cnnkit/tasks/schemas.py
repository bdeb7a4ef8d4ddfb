"""Schemas of the tasks' config keys (conf/task/*.yaml), free of TensorFlow.

Each task registers with its schema (`@TASKS.register("segmentation", schema=...)`), so
`task: {los: dice}` is refused with "did you mean loss" before anything is built, and a loss
name is checked against the losses that fit the task. `ACCEPTS` says which targets of the data
a task can learn from; the validation pass matches it against what the source gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from cnnkit.config.check import setting

CLASSIFICATION_LOSSES = ("auto", "crossentropy", "sparse_categorical_crossentropy", "focal")
SEGMENTATION_LOSSES = ("crossentropy", "bce", "weighted_bce", "categorical_crossentropy", "dice",
                       "ce_dice", "focal", "tversky")
RECONSTRUCTION_LOSSES = ("l1", "l2", "mae", "mse", "frequency_l2", "ssim", "huber")
REGRESSION_LOSSES = ("mse", "mae", "huber")
PIXEL_LOSSES = ("mse", "l2", "mae", "l1", "huber")
OUTPUT_FORMATS = ("auto", "png", "nifti", "npy")


@dataclass
class ClassificationSchema:
    ACCEPTS: ClassVar[tuple[str, ...]] = ("label",)
    name: str = "classification"
    mode: Literal["auto", "multiclass", "binary", "multilabel"] = "auto"
    loss: str = setting("auto", choices=CLASSIFICATION_LOSSES)
    label_smoothing: float = setting(0.0, min=0, lt=1)
    class_weight: Literal["balanced"] | None = None
    focal_gamma: float = setting(2.0, min=0)
    focal_alpha: float | None = setting(None, min=0)
    threshold: float | list[float] = setting(0.5, gt=0, lt=1)
    top_k: int = setting(5, min=1)


@dataclass
class RegressionSchema:
    ACCEPTS: ClassVar[tuple[str, ...]] = ("values", "boxes")
    name: str = "regression"
    outputs: list[str] | None = setting(None, min_items=1)  # null: the data's target names
    loss: str = setting("mse", choices=REGRESSION_LOSSES)
    huber_delta: float = setting(1.0, gt=0)
    normalize: bool = True
    target_kind: Literal["values", "boxes"] = "values"


@dataclass
class SegmentationSchema:
    ACCEPTS: ClassVar[tuple[str, ...]] = ("mask",)
    name: str = "segmentation"
    classes: list[str] = setting(factory=lambda: ["background", "foreground"], min_items=2)
    loss: str = setting("ce_dice", choices=SEGMENTATION_LOSSES)
    beta: float = setting(1.0, gt=0)
    dice_weight: float = setting(1.0, min=0)
    focal_gamma: float = setting(2.0, min=0)
    focal_alpha: float | None = setting(None, min=0)
    tversky_alpha: float = setting(0.3, min=0)
    tversky_beta: float = setting(0.7, min=0)
    threshold: float = setting(0.5, gt=0, lt=1)
    size_multiple: int = setting(16, min=1)
    output_format: str = setting("auto", choices=OUTPUT_FORMATS)


@dataclass
class ReconstructionSchema:
    ACCEPTS: ClassVar[tuple[str, ...]] = ("image",)
    name: str = "reconstruction"
    loss: str = setting("l2", choices=RECONSTRUCTION_LOSSES)
    high_frequency_weight: float = setting(0.0, min=0)
    max_val: float = setting(1.0, gt=0)
    channels: int | None = setting(None, min=1)
    output_activation: str = "linear"
    size_multiple: int = setting(16, min=1)
    output_format: str = setting("auto", choices=OUTPUT_FORMATS)


@dataclass
class AutoencoderSchema(ReconstructionSchema):
    ACCEPTS: ClassVar[tuple[str, ...]] = ()  # any data: the target is the input itself
    name: str = "autoencoder"
    embedding_layer: str = "code"
    output_activation: str = "sigmoid"


@dataclass
class DensitySchema:
    ACCEPTS: ClassVar[tuple[str, ...]] = ("density",)
    name: str = "density"
    loss: str = setting("mse", choices=PIXEL_LOSSES)
    scale: float = setting(100.0, gt=0)


@dataclass
class MultitaskSchema:
    """`heads: {NAME: {task: TASK, weight: W, ...that task's keys}}` (checked by `check_heads`)."""

    name: str = "multitask"
    heads: dict[str, Any] = field(default_factory=dict)


#: the multitask's own keys in a head; the rest belong to the head's task
HEAD_KEYS = ("task", "weight")


GAN_LOSSES = ("non_saturating", "hinge", "wgan_gp")


@dataclass
class GenerativeSchema:
    """Keys every generative task shares: what its samples are scored against."""

    ACCEPTS: ClassVar[tuple[str, ...]] = ()  # any images; a conditional GAN needs labels
    feature_run: str | None = None  # a classifier run: FID/KID in its feature space
    eval_samples: int = setting(1000, min=2)  # samples `cnnkit evaluate` scores
    grid_size: int = setting(64, min=1)  # samples in each epoch's grid (conditional: per class row)
    # the truncation trick (Brock et al. 2019): latent values beyond +-truncation are redrawn
    # (fewer, more typical modes for a generator trained for it); null: the full normal prior
    truncation: float | None = setting(None, gt=0)


@dataclass
class GanSchema(GenerativeSchema):
    name: str = "gan"
    loss: str = setting("non_saturating", choices=GAN_LOSSES)
    n_critic: int = setting(1, min=1, max=8)  # discriminator updates per generator update
    gp_weight: float = setting(10.0, min=0)  # wgan_gp: weight of the gradient penalty
    conditional: bool = False
    conditioning: Literal["projection", "auxiliary"] = "projection"
    class_loss_weight: float = setting(1.0, min=0)  # auxiliary: weight of the class losses
    # the share of each batch whose adversarial loss trains the generator: the samples the
    # discriminator scores most real (top-k training, Sinha et al. 2020); 1: every sample
    top_k_fraction: float = setting(1.0, gt=0, max=1)


@dataclass
class VaeSchema(GenerativeSchema):
    name: str = "vae"
    reconstruction_loss: Literal["bce", "mse"] = "bce"
    kl_weight: float = setting(1.0, min=0)  # beta: 1 is the ELBO
    kl_warmup_epochs: int = setting(0, min=0)  # the KL weight grows linearly from 0 over these
