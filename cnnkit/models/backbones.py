"""Transfer learning: a keras.applications backbone, its own preprocessing and a YAML head.

The built model is `input -> [gray_to_rgb] -> BackbonePreprocessing -> backbone -> head`. The
backbone stays one nested layer (so it can be called with `training=False` and frozen as a unit);
the head is built by `cnnkit.models.spec` from `model.head`, in the same grammar as `model.layers`.
The data pipeline feeds images in [0, 1] (`data.normalize=rescale`, see `models.build`), and the
preprocessing layer maps them to what the backbone was trained on.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cnnkit.config.check import check_group
from cnnkit.config.plain import to_plain
from cnnkit.errors import ConfigError, ModelSpecError, did_you_mean
from cnnkit.models.schemas import BackboneSchema
from cnnkit.registry import Registry

log = logging.getLogger("cnnkit.models")

GRAY_TO_RGB = ("repeat", "conv")
# Constructor arguments cnnkit sets itself, so `model.options` may not.
RESERVED_OPTIONS = {"include_top", "weights", "input_shape", "input_tensor", "classes"}
NETWORK_PROBE_S = 3.0


@dataclass(frozen=True)
class Backbone:
    """A keras.applications constructor with what it expects of its input."""

    name: str
    preprocessing: str  # a BackbonePreprocessing mode
    min_size: int  # smallest height/width keras accepts (its `obtain_input_shape` minimum)

    def constructor(self) -> Any:
        import keras

        return getattr(keras.applications, self.name)


BACKBONES: Registry[Backbone] = Registry("keras.applications backbone", "model.name")


def _register(names: list[str], preprocessing: str, min_size: int = 32) -> None:
    for name in names:
        BACKBONES.register(name)(Backbone(name, preprocessing, min_size))


_register(["Xception"], "tf", 71)
_register(["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152"], "caffe")
_register(["ResNet50V2", "ResNet101V2", "ResNet152V2", "MobileNet", "MobileNetV2",
           "NASNetMobile", "NASNetLarge"], "tf")
_register(["InceptionV3", "InceptionResNetV2"], "tf", 75)
_register(["DenseNet121", "DenseNet169", "DenseNet201"], "torch")
_register(["MobileNetV3Small", "MobileNetV3Large",
           *(f"EfficientNetB{i}" for i in range(8)),
           *(f"EfficientNetV2{v}" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")),
           *(f"ConvNeXt{v}" for v in ("Tiny", "Small", "Base", "Large", "XLarge"))], "none")


def check_input_shape(backbone: Backbone, input_shape: Any) -> tuple[int, int, int]:
    """Height, width, channels; a clear error where the backbone cannot take them."""
    shape = to_plain(input_shape)
    if (not isinstance(shape, list | tuple) or len(shape) != 3
            or not all(isinstance(d, int) and d > 0 for d in shape)):
        raise ModelSpecError(
            f"`model.input_shape` must be [height, width, channels] for a {backbone.name} backbone. "
            f"Received: {shape!r}"
        )
    height, width, channels = shape
    if min(height, width) < backbone.min_size:
        raise ModelSpecError(
            f"`model.input_shape` is too small for {backbone.name}: it needs at least "
            f"{backbone.min_size}x{backbone.min_size}. Received: {list(shape)}. "
            f"Expected e.g. model.input_shape=[{backbone.min_size},{backbone.min_size},{channels}]"
        )
    if channels not in (1, 3):
        raise ModelSpecError(
            f"`model.input_shape` must have 1 (gray) or 3 (RGB) channels for {backbone.name}. "
            f"Received: {list(shape)}"
        )
    return height, width, channels


# --- weights ------------------------------------------------------------------------------------

class _WeightsMissing(Exception):
    """Raised from inside the keras constructor when a weights file is not cached."""

    def __init__(self, fname: str, origin: str, cache: Path) -> None:
        super().__init__(fname)
        self.fname, self.origin, self.cache = fname, origin, cache


def keras_cache_dirs() -> list[Path]:
    """Where `keras.utils.get_file` keeps downloads: $KERAS_HOME or ~/.keras, else /tmp/.keras."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    return [home, Path("/tmp/.keras")]


def reachable(url: str, timeout: float = NETWORK_PROBE_S) -> bool:
    """Whether the host of `url` accepts a connection within `timeout` seconds."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def _cache_first_downloads() -> Iterator[None]:
    """Make keras.applications use a cached weights file, download only when the host answers.

    keras' own `get_file` retries for minutes without a network; this wrapper decides in seconds.
    """
    from keras.src.utils import file_utils  # the module keras.applications downloads through

    real_get_file = file_utils.get_file

    def get_file(fname: str | None = None, origin: str | None = None,
                 cache_subdir: str = "datasets", **kwargs: Any) -> str:
        fname = fname or os.path.basename(urlparse(origin or "").path)
        for base in keras_cache_dirs():
            if (base / cache_subdir / fname).is_file():
                return str(base / cache_subdir / fname)
        if origin and reachable(origin):
            return real_get_file(fname=fname, origin=origin, cache_subdir=cache_subdir, **kwargs)
        raise _WeightsMissing(fname, origin or "", keras_cache_dirs()[0] / cache_subdir)

    file_utils.get_file = get_file
    try:
        yield
    finally:
        file_utils.get_file = real_get_file


def _weights_argument(weights: Any) -> str | None:
    """`imagenet`, None, or an existing local file (checked here, with a clear message)."""
    if weights is None or str(weights).lower() in ("null", "none"):
        return None
    if str(weights) == "imagenet":
        return "imagenet"
    path = Path(str(weights)).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"`model.weights` must be imagenet, null or an existing weights file. "
            f"Received: {str(weights)!r} (no such file)"
        )
    if not path.name.endswith((".h5", ".hdf5")):
        raise ConfigError(
            f"`model.weights` must be a .h5 or .weights.h5 file. Received: {str(weights)!r}"
        )
    return str(path)


def build_backbone(backbone: Backbone, shape: tuple[int, int, int], weights: Any,
                   options: Mapping[str, Any] | None = None) -> Any:
    """The headless keras.applications model for RGB input of `shape`, its weights loaded."""
    options = dict(to_plain(options) or {})
    reserved = sorted(RESERVED_OPTIONS & set(options))
    if reserved:
        raise ConfigError(
            f"`model.options` may not set {', '.join(reserved)}: cnnkit sets them "
            f"(use model.weights and model.input_shape). Received: {options}"
        )
    source = _weights_argument(weights)
    try:
        with _cache_first_downloads():
            return backbone.constructor()(include_top=False, weights=source,
                                          input_shape=(shape[0], shape[1], 3), **options)
    except _WeightsMissing as missing:
        raise ModelSpecError(
            f"`model.weights=imagenet`: the ImageNet weights of {backbone.name} are not in the "
            f"Keras cache and {missing.origin or 'the download host'} cannot be reached. "
            f"Put the file {missing.fname} in {missing.cache}/ (download it from {missing.origin}), "
            f"or set model.weights=<path to a .h5 file>, or model.weights=null to start from "
            f"random weights."
        ) from None
    except (TypeError, ValueError, OSError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelSpecError(
            f"`model.name={backbone.name}` cannot be built with weights={weights!r}, "
            f"options={options}: {detail}"
        ) from exc


# --- freezing -----------------------------------------------------------------------------------

def layer_index(backbone: Any, name: str, key: str) -> int:
    """Position of the layer called `name` in the backbone; unknown names get suggestions."""
    names = [layer.name for layer in backbone.layers]
    if name not in names:
        raise ModelSpecError(
            f"`{key}` names no layer of {backbone.name}. Received: {name!r}. "
            f"Its layers run from {names[0]!r} to {names[-1]!r} ({len(names)} in all).{did_you_mean(name, names)}"
        )
    return names.index(name)


def frozen_count(backbone: Any, freeze: Any, freeze_until: Any, weights: Any = "imagenet") -> int:
    """How many leading layers of the backbone `model.freeze` / `model.freeze_until` freeze.

    `auto` freezes everything only when `weights` are loaded: a frozen random backbone is a
    fixed random feature extractor (accuracy at chance), never what a user means by default.
    Frozen random layers asked for explicitly (how a head is tested) get a warning."""
    if freeze == "auto":
        freeze = "all" if weights is not None and freeze_until is None else None
    count = _frozen_layers(backbone, freeze, freeze_until)
    if weights is None and count:
        log.warning("model.freeze=%s with model.weights=null: %d backbone layers stay frozen at "
                    "random weights (set model.freeze=auto or null to train them)",
                    freeze if freeze_until is None else f"null, freeze_until={freeze_until}", count)
    return count


def _frozen_layers(backbone: Any, freeze: Any, freeze_until: Any) -> int:
    total = len(backbone.layers)
    if freeze is not None and freeze_until is not None:
        raise ConfigError(
            "`model.freeze` and `model.freeze_until` are alternatives: set one. "
            f"Received: freeze={freeze!r}, freeze_until={freeze_until!r}"
        )
    if freeze_until is not None:
        return layer_index(backbone, str(freeze_until), "model.freeze_until")
    if freeze is None or freeze is False:
        return 0
    if freeze == "all" or freeze is True:
        return total
    if isinstance(freeze, int) and 0 <= freeze <= total:
        return freeze
    raise ConfigError(
        f"`model.freeze` must be auto, null, all, or a number of leading layers from 0 to {total} "
        f"({backbone.name} has {total}). Received: {freeze!r}"
    )


def set_trainable_from(backbone: Any, first_trainable: int) -> None:
    """Freeze the layers before `first_trainable`, unfreeze the rest (frozen BN runs in inference)."""
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= first_trainable


def find_backbone(model: Any) -> Any:
    """The nested keras.applications model inside a model built here."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ModelSpecError(f"Model {model.name!r} has no nested backbone to fine-tune.")


# --- the whole model ----------------------------------------------------------------------------

def _adapt_gray(x: Any, mode: Any) -> Any:
    import keras

    if mode == "repeat":
        return keras.layers.Concatenate(axis=-1, name="gray_to_rgb")([x, x, x])
    if mode == "conv":
        # starts equal to `repeat` and learns its own mix
        return keras.layers.Conv2D(3, 1, kernel_initializer="ones", name="gray_to_rgb")(x)
    raise ConfigError(
        f"`model.gray_to_rgb` must be one of {', '.join(GRAY_TO_RGB)}. Received: {mode!r}"
    )


def _apply_head(model_cfg: Any, features: Any) -> Any:
    """`model.head` (the `model.layers` grammar) wired onto the backbone's features."""
    from cnnkit.models.spec import build_from_spec

    head_cfg = model_cfg.get("head")
    try:
        head = build_from_spec(head_cfg, list(features.shape[1:]),
                               outputs=model_cfg.get("outputs"), name="head")
    except ModelSpecError as exc:  # the spec builder names items `model.layers[i]`
        raise ModelSpecError(str(exc).replace("model.layers", "model.head")) from exc
    # run the head's graph on `features` layer by layer, so its layers sit in the outer model
    # (not nested: tasks read the last layer's activation)
    outputs = head.call(features)
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def build_backbone_model(model_cfg: Any) -> Any:
    """Input in [0, 1] -> gray adapter -> preprocessing -> frozen/fine-tuned backbone -> head."""
    import keras

    from cnnkit.models.layers import BackbonePreprocessing, apply_input_augmentation

    # the same schema the validation pass uses, for callers that build without it
    check_group(to_plain(model_cfg), BackboneSchema, "model", what="the backbone model kind")
    backbone_info = BACKBONES.get(str(model_cfg.get("name")))
    height, width, channels = check_input_shape(backbone_info, model_cfg.get("input_shape"))
    backbone = build_backbone(backbone_info, (height, width, channels), model_cfg.get("weights"),
                              model_cfg.get("options"))
    freeze = frozen_count(backbone, to_plain(model_cfg.get("freeze")), model_cfg.get("freeze_until"),
                          model_cfg.get("weights"))
    set_trainable_from(backbone, freeze)
    fine_tune = model_cfg.get("fine_tune")
    if fine_tune:
        layer_index(backbone, str(fine_tune.get("unfreeze_from")), "model.fine_tune.unfreeze_from")

    inputs = keras.Input(shape=(height, width, channels), name="input")
    x = apply_input_augmentation(model_cfg.get("input_augmentation"), inputs)
    x = _adapt_gray(x, model_cfg.get("gray_to_rgb", "repeat")) if channels == 1 else x
    x = BackbonePreprocessing(backbone_info.preprocessing, name="preprocess_input")(x)
    # A frozen or fine-tuned backbone runs in inference mode, so its batch-norm statistics are
    # kept (the Keras transfer-learning guide); a backbone trained whole trains normally.
    features = backbone(x, training=False) if freeze or fine_tune else backbone(x)
    outputs = _apply_head(model_cfg, features)
    return keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs,
                       name=f"{backbone_info.name.lower()}_transfer")
