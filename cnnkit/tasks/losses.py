"""Losses the tasks share, by registry name: segmentation overlap losses, weighted BCE, focal,
frequency-domain L2 and SSIM.

Every custom loss is a `keras.losses.Loss` registered serializable under the `cnnkit` package
with a `get_config`, so `model.keras` reloads with `safe_mode=True`. Targets may be sparse
(class indices, last axis 1) while predictions hold K > 1 channels; `one_hot_like` converts them.
Predictions are probabilities (after sigmoid/softmax) unless `from_logits=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from cnnkit.errors import ConfigError
from cnnkit.registry import Registry

PACKAGE = "cnnkit"
EPSILON = 1e-7

#: name used in `task.loss` -> factory(task_cfg, num_outputs, from_logits) -> keras loss
LOSSES: Registry[Callable[..., Any]] = Registry("loss", "task.loss")


def one_hot_like(y_true: Any, y_pred: Any) -> Any:
    """Targets in the layout of the predictions: sparse class indices -> one-hot when K > 1."""
    y_true = ops.cast(y_true, "float32")
    channels = y_pred.shape[-1]
    if not channels or channels == 1:
        return y_true
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        return ops.one_hot(ops.cast(y_true, "int32"), channels)
    return y_true  # already one-hot (or soft) targets


def probabilities(y_pred: Any, from_logits: bool) -> Any:
    """Logits -> probabilities (sigmoid for one channel, softmax otherwise)."""
    y_pred = ops.cast(y_pred, "float32")
    if not from_logits:
        return y_pred
    return ops.sigmoid(y_pred) if y_pred.shape[-1] == 1 else ops.softmax(y_pred, axis=-1)


def _overlap_terms(y_true: Any, y_pred: Any, from_logits: bool) -> tuple[Any, Any, Any]:
    """Per-class soft true positives, false positives, false negatives summed over the batch."""
    p = probabilities(y_pred, from_logits)
    t = one_hot_like(y_true, p)
    axes = tuple(range(len(p.shape) - 1))  # every axis but the class axis: global over the batch
    tp = ops.sum(t * p, axis=axes)
    fp = ops.sum((1.0 - t) * p, axis=axes)
    fn = ops.sum(t * (1.0 - p), axis=axes)
    return tp, fp, fn


class _CnnkitLoss(keras.losses.Loss):
    """Base: one value per batch (global losses are not per-sample)."""

    def __init__(self, from_logits: bool = False, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.from_logits = bool(from_logits)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiceLoss(_CnnkitLoss):
    """1 - soft Dice, computed globally over the batch and averaged over the classes.

    With one sigmoid channel the class is the foreground; with K softmax channels every class
    (background included) counts, so a small structure is not drowned by a large background.
    """

    def __init__(self, smooth: float = 1.0, from_logits: bool = False, name: str = "dice_loss",
                 **kwargs: Any) -> None:
        super().__init__(from_logits=from_logits, name=name, **kwargs)
        self.smooth = float(smooth)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        tp, fp, fn = _overlap_terms(y_true, y_pred, self.from_logits)
        dice = (2.0 * tp + self.smooth) / (2.0 * tp + fp + fn + self.smooth)
        return 1.0 - ops.mean(dice)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "smooth": self.smooth}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TverskyLoss(_CnnkitLoss):
    """1 - TP / (TP + alpha FP + beta FN): beta > alpha penalises missed foreground more."""

    def __init__(self, alpha: float = 0.3, beta: float = 0.7, smooth: float = 1.0,
                 from_logits: bool = False, name: str = "tversky_loss", **kwargs: Any) -> None:
        super().__init__(from_logits=from_logits, name=name, **kwargs)
        self.alpha, self.beta, self.smooth = float(alpha), float(beta), float(smooth)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        tp, fp, fn = _overlap_terms(y_true, y_pred, self.from_logits)
        index = (tp + self.smooth) / (tp + self.alpha * fp + self.beta * fn + self.smooth)
        return 1.0 - ops.mean(index)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "smooth": self.smooth}


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedBinaryCrossentropy(_CnnkitLoss):
    """-(beta y log p + (1 - y) log(1 - p)), averaged: beta > 1 fewer false negatives,
    beta < 1 fewer false positives."""

    def __init__(self, beta: float = 1.0, from_logits: bool = False,
                 name: str = "weighted_binary_crossentropy", **kwargs: Any) -> None:
        super().__init__(from_logits=from_logits, name=name, **kwargs)
        self.beta = float(beta)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y = ops.cast(y_true, "float32")
        p = ops.clip(probabilities(y_pred, self.from_logits), EPSILON, 1.0 - EPSILON)
        return -ops.mean(self.beta * y * ops.log(p) + (1.0 - y) * ops.log(1.0 - p))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FocalCrossentropy(_CnnkitLoss):
    """Focal loss (Lin et al. 2017) for one sigmoid channel or K softmax channels, sparse or
    one-hot targets: easy, well-classified pixels/samples are down-weighted by (1 - p_t)^gamma."""

    def __init__(self, gamma: float = 2.0, alpha: float | None = None, from_logits: bool = False,
                 name: str = "focal_crossentropy", **kwargs: Any) -> None:
        super().__init__(from_logits=from_logits, name=name, **kwargs)
        self.gamma = float(gamma)
        self.alpha = None if alpha is None else float(alpha)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        p = ops.clip(probabilities(y_pred, self.from_logits), EPSILON, 1.0 - EPSILON)
        if p.shape[-1] == 1:  # binary: both outcomes of the one channel
            y = ops.cast(y_true, "float32")
            p_t = y * p + (1.0 - y) * (1.0 - p)
            weight = 1.0 if self.alpha is None else y * self.alpha + (1.0 - y) * (1.0 - self.alpha)
            return ops.mean(-weight * (1.0 - p_t) ** self.gamma * ops.log(p_t))
        t = one_hot_like(y_true, p)
        weight = 1.0 if self.alpha is None else self.alpha
        per_class = -weight * t * (1.0 - p) ** self.gamma * ops.log(p)
        return ops.mean(ops.sum(per_class, axis=-1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gamma": self.gamma, "alpha": self.alpha}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CrossentropyDice(_CnnkitLoss):
    """Cross-entropy + dice_weight x soft Dice loss: CE gives smooth per-pixel gradients, Dice
    keeps the overlap of small structures in view."""

    def __init__(self, dice_weight: float = 1.0, smooth: float = 1.0, from_logits: bool = False,
                 name: str = "crossentropy_dice", **kwargs: Any) -> None:
        super().__init__(from_logits=from_logits, name=name, **kwargs)
        self.dice_weight, self.smooth = float(dice_weight), float(smooth)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        p = ops.clip(probabilities(y_pred, self.from_logits), EPSILON, 1.0 - EPSILON)
        t = one_hot_like(y_true, p)
        if p.shape[-1] == 1:
            ce = -ops.mean(t * ops.log(p) + (1.0 - t) * ops.log(1.0 - p))
        else:
            ce = -ops.mean(ops.sum(t * ops.log(p), axis=-1))
        dice = DiceLoss(self.smooth)(t, p)
        return ce + self.dice_weight * dice

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dice_weight": self.dice_weight, "smooth": self.smooth}


def _channels_first_2d(x: Any) -> Any:
    """(B, [D,] H, W, C) -> (B * [D] * C, H, W): the last two spatial axes innermost for FFT."""
    x = ops.cast(x, "float32")
    perm = (0, len(x.shape) - 1, *range(1, len(x.shape) - 1))
    x = ops.transpose(x, perm)
    return ops.reshape(x, (-1, x.shape[-2], x.shape[-1]))


@keras.saving.register_keras_serializable(package=PACKAGE)
class FrequencyL2(_CnnkitLoss):
    """Mean squared error between the 2D Fourier transforms (orthonormal, per channel/slice).

    With `high_frequency_weight: 0` it equals the pixel MSE (Parseval); a positive weight
    multiplies each coefficient by 1 + w * (normalised radial frequency), so fine detail —
    which plain L2 lets blur — costs more.
    """

    def __init__(self, high_frequency_weight: float = 0.0, name: str = "frequency_l2",
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.high_frequency_weight = float(high_frequency_weight)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        import tensorflow as tf

        diff = _channels_first_2d(y_pred) - _channels_first_2d(y_true)
        height, width = diff.shape[-2], diff.shape[-1]
        spectrum = tf.signal.fft2d(tf.complex(diff, tf.zeros_like(diff)))
        power = tf.math.real(spectrum * tf.math.conj(spectrum)) / float(height * width)
        if self.high_frequency_weight:
            fy, fx = tf.constant(_frequencies(height)), tf.constant(_frequencies(width))
            radius = tf.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2) / (0.5 * 2**0.5)
            power = power * (1.0 + self.high_frequency_weight * radius)
        return ops.mean(power)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("from_logits", None)
        return {**config, "high_frequency_weight": self.high_frequency_weight}


def _frequencies(n: int) -> list[float]:
    """|frequency| of each FFT bin in cycles per sample (numpy.fft.fftfreq order)."""
    import numpy as np

    return np.abs(np.fft.fftfreq(n)).astype("float32").tolist()


def as_images(x: Any) -> Any:
    """(B, D, H, W, C) volumes -> (B * D, H, W, C) slices so tf.image works on 2D and 3D."""
    x = ops.cast(x, "float32")
    if len(x.shape) == 5:
        return ops.reshape(x, (-1, *x.shape[2:]))
    return x


def ssim(y_true: Any, y_pred: Any, max_val: float) -> Any:
    """SSIM per image/slice (tf.image.ssim; 11x11 Gaussian window, smaller for tiny images)."""
    import tensorflow as tf

    y_true, y_pred = as_images(y_true), as_images(y_pred)
    size = min(11, int(y_true.shape[1] or 11), int(y_true.shape[2] or 11))
    return tf.image.ssim(y_true, y_pred, max_val=max_val, filter_size=size)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SSIMLoss(_CnnkitLoss):
    """1 - SSIM (tf.image.ssim; 3D volumes slice by slice); `max_val` is the image value range."""

    def __init__(self, max_val: float = 1.0, name: str = "ssim_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.max_val = float(max_val)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return 1.0 - ops.mean(ssim(y_true, y_pred, self.max_val))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("from_logits", None)
        return {**config, "max_val": self.max_val}


# --- registry: `task.loss` names -> Keras loss objects ------------------------------------------


def _option(cfg: Any, key: str, default: Any) -> Any:
    value = cfg.get(key) if cfg is not None else None
    return default if value is None else value


def build_loss(name: str, cfg: Any, num_outputs: int, from_logits: bool) -> Any:
    """The loss named `name` (a `task.loss` value), configured from the task config."""
    return LOSSES.get(name)(cfg, num_outputs, from_logits)


def _crossentropy(cfg: Any, num_outputs: int, from_logits: bool) -> Any:
    """BCE for one output channel, (sparse) categorical CE for several."""
    if num_outputs == 1:
        return keras.losses.BinaryCrossentropy(from_logits=from_logits)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)


LOSSES.register("crossentropy")(_crossentropy)
LOSSES.register("bce")(lambda cfg, n, logits: keras.losses.BinaryCrossentropy(from_logits=logits))
LOSSES.register("categorical_crossentropy")(
    lambda cfg, n, logits: keras.losses.SparseCategoricalCrossentropy(from_logits=logits))
LOSSES.register("weighted_bce")(
    lambda cfg, n, logits: WeightedBinaryCrossentropy(_option(cfg, "beta", 1.0), logits))
LOSSES.register("dice")(lambda cfg, n, logits: DiceLoss(from_logits=logits))
LOSSES.register("ce_dice")(
    lambda cfg, n, logits: CrossentropyDice(_option(cfg, "dice_weight", 1.0), from_logits=logits))
LOSSES.register("focal")(
    lambda cfg, n, logits: FocalCrossentropy(_option(cfg, "focal_gamma", 2.0),
                                             cfg.get("focal_alpha") if cfg is not None else None,
                                             from_logits=logits))
LOSSES.register("tversky")(
    lambda cfg, n, logits: TverskyLoss(_option(cfg, "tversky_alpha", 0.3),
                                       _option(cfg, "tversky_beta", 0.7), from_logits=logits))
LOSSES.register("mse")(lambda cfg, n, logits: keras.losses.MeanSquaredError())
LOSSES.register("l2")(lambda cfg, n, logits: keras.losses.MeanSquaredError())
LOSSES.register("mae")(lambda cfg, n, logits: keras.losses.MeanAbsoluteError())
LOSSES.register("l1")(lambda cfg, n, logits: keras.losses.MeanAbsoluteError())
LOSSES.register("huber")(
    lambda cfg, n, logits: keras.losses.Huber(delta=float(_option(cfg, "huber_delta", 1.0))))
LOSSES.register("frequency_l2")(
    lambda cfg, n, logits: FrequencyL2(_option(cfg, "high_frequency_weight", 0.0)))
LOSSES.register("ssim")(lambda cfg, n, logits: SSIMLoss(_option(cfg, "max_val", 1.0)))


def check_loss(name: str, allowed: tuple[str, ...], task: str) -> None:
    """A clear error when a loss exists but does not fit the task (e.g. SSIM for labels)."""
    if name not in allowed:
        raise ConfigError(
            f"`task.loss` must be one of {', '.join(allowed)} for {task}. Received: {name!r}"
        )


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedLoss(keras.losses.Loss):
    """`weight` x another loss: one head's share of a multi-task objective."""

    def __init__(self, loss: Any, weight: float = 1.0, name: str | None = None,
                 **kwargs: Any) -> None:
        if isinstance(loss, dict):  # deserialising a saved model
            loss = keras.saving.deserialize_keras_object(loss)
        super().__init__(name=name or f"weighted_{getattr(loss, 'name', 'loss')}", **kwargs)
        self.loss = loss
        self.weight = float(weight)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return self.weight * self.loss(y_true, y_pred)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "loss": keras.saving.serialize_keras_object(self.loss),
                "weight": self.weight}
