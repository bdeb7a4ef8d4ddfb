"""Schemas of the model kinds, and checks of a spec that need no TensorFlow.

Layer arguments that take names (`activation`, `padding`, initializers, ...) are checked against
Keras' own names with a did-you-mean before anything is built; the lists are pinned against the
installed Keras by a test. A layer type that does not exist, a bad keyword or an impossible shape
is found when the model is built symbolically (`cnnkit validate`, `cnnkit summary`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from cnnkit.config.check import setting
from cnnkit.errors import ConfigError, did_you_mean

ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu",
    "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
)
INITIALIZERS = (
    "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "lecun_normal", "lecun_uniform", "normal", "one", "ones", "orthogonal", "random_normal",
    "random_uniform", "stft", "truncated_normal", "uniform", "variance_scaling", "zero", "zeros",
)
REGULARIZERS = ("l1", "l1l2", "l2", "orthogonal_regularizer")
CONSTRAINTS = ("max_norm", "min_max_norm", "non_neg", "unit_norm")
#: keyword argument -> the names Keras accepts for it (a suffix match: `*_initializer`)
NAMED_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "activation": ACTIVATIONS,
    "recurrent_activation": ACTIVATIONS,
    "padding": ("valid", "same", "causal"),
    "data_format": ("channels_last", "channels_first"),
    "interpolation": ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"),
    "_initializer": INITIALIZERS,
    "_regularizer": REGULARIZERS,
    "_constraint": CONSTRAINTS,
}
ITEM_KEYS = ("name", "inputs", "repeat")
_RANK = re.compile(r"([123])D(?:Transpose)?$")


@dataclass
class SpecModelSchema:
    """`kind: spec`: a model written as YAML layers (conf/model/default.yaml). A preset's own
    variables (`base_filters`) are allowed because its layers refer to them (`${model.base_filters}`)."""

    kind: str = "spec"
    name: str = "model"
    input_shape: list[int] | None = None
    num_classes: int | None = setting(None, min=1)
    output_activation: str | None = setting(None, choices=ACTIVATIONS)
    outputs: list[str] | None = None
    layers: list[Any] = field(default_factory=list)
    blocks: dict[str, Any] | None = None
    rank: int | None = setting(None, min=1, max=3)
    input_augmentation: Any = None  # set by train for augment.where=model

    @staticmethod
    def rank_of(values: dict[str, Any]) -> int | None:
        """The spatial rank: `model.rank`, else the one the layer names agree on (Conv2D -> 2)."""
        if values.get("rank"):
            return int(values["rank"])
        found = {int(m.group(1)) for kind, _ in _layers(values) if (m := _RANK.search(kind))}
        return found.pop() if len(found) == 1 else None


@dataclass
class FineTuneSchema:
    unfreeze_from: str  # a backbone layer name (required)
    at_epoch: int = setting(5, min=1)
    lr_factor: float = setting(0.1, gt=0)


@dataclass
class BackboneSchema:
    """`kind: backbone`: a keras.applications model (conf/model/backbone.yaml)."""

    kind: str = "backbone"
    name: str = "MobileNetV2"
    weights: str | None = "imagenet"
    input_shape: list[int] | None = None
    num_classes: int | None = setting(None, min=1)
    output_activation: str | None = setting(None, choices=ACTIVATIONS)
    gray_to_rgb: Literal["repeat", "conv"] = "repeat"
    # auto: all when pretrained weights are loaded, nothing with weights=null; its range is
    # checked by the builder (frozen_count)
    freeze: Literal["auto", "all"] | int | None = "auto"
    freeze_until: str | None = None
    fine_tune: FineTuneSchema | None = None
    options: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] | None = None
    head: list[Any] = field(default_factory=list)
    input_augmentation: Any = None

    @staticmethod
    def rank_of(values: dict[str, Any]) -> int | None:
        return 2


def check_spec(values: dict[str, Any], config: dict[str, Any]) -> None:
    """Sizes of `model.input_shape`, and name-valued layer arguments of `model.layers`,
    `model.blocks` and `model.head`."""
    shape = values.get("input_shape")
    if shape is not None and (not shape or any(size < 1 for size in shape)):
        raise ConfigError(f"`model.input_shape` must list positive sizes, channels last (e.g. "
                          f"[32, 32, 1]). Received: {shape}")
    check_layer_arguments(values)


def check_layer_arguments(values: dict[str, Any], prefix: str = "model") -> None:
    """Name-valued layer arguments of `<prefix>.layers`, `.blocks` and `.head` (a sub-network
    of a GAN or VAE has the prefix `model.generator`, `model.encoder`, ...)."""
    for kind, (path, kwargs) in _layers(values, prefix):
        if not isinstance(kwargs, dict):
            continue
        for arg, value in kwargs.items():
            choices = _choices(str(arg))
            if choices is None or not isinstance(value, str) or "$" in value:
                continue
            if _normal(value) not in {_normal(c) for c in choices}:
                raise ConfigError(
                    f"`{path}.{kind}.{arg}` names an unknown Keras {arg.lstrip('_')} value. "
                    f"Received: {value!r}.{did_you_mean(value, choices)} Expected one of: "
                    f"{', '.join(choices)}.")


def check_backbone(values: dict[str, Any], config: dict[str, Any]) -> None:
    """A known keras.applications name, and the head's layer arguments."""
    from cnnkit.models.backbones import BACKBONES

    BACKBONES.entry(str(values.get("name")), key="model.name")
    check_spec(values, config)


def _choices(arg: str) -> tuple[str, ...] | None:
    if arg in NAMED_ARGUMENTS:
        return NAMED_ARGUMENTS[arg]
    for suffix in ("_initializer", "_regularizer", "_constraint"):
        if arg.endswith(suffix):
            return NAMED_ARGUMENTS[suffix]
    return None


def _normal(name: str) -> str:
    """`GlorotUniform` and `glorot_uniform` are the same Keras name."""
    return name.replace("_", "").lower()


def _layers(values: dict[str, Any], prefix: str = "model") -> Iterator[tuple[str, tuple[str, Any]]]:
    """(layer type, (key path, keyword arguments)) of every item of the spec and its blocks."""
    lists = [(f"{prefix}.layers", values.get("layers")), (f"{prefix}.head", values.get("head"))]
    for name, block in (values.get("blocks") or {}).items():
        if isinstance(block, dict):
            lists.append((f"{prefix}.blocks.{name}.layers", block.get("layers")))
    for prefix, items in lists:
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            for kind, kwargs in item.items():
                if kind not in ITEM_KEYS:
                    yield str(kind), (f"{prefix}[{index}]", kwargs)
