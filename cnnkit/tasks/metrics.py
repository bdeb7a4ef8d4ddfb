"""Metrics the tasks share: Keras metrics logged during training, and NumPy functions that
evaluate reports compute on a whole split (per class, per output).

Segmentation scores come from one pixel/voxel confusion matrix accumulated over the split, so
Dice and IoU are global (not averages of per-image scores that empty masks would distort).
Keras metrics are registered serializable (`cnnkit` package) so `model.keras` reloads safely.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from cnnkit.tasks.losses import PACKAGE, as_images, ssim

# --- NumPy: whole-split scores -------------------------------------------------------------------


def positive(probs: Any, threshold: Any) -> Any:
    """Keras' rule (as BinaryAccuracy): positive when p > threshold, so the metrics shown during
    training, `cnnkit evaluate` and the labels `cnnkit predict` writes all agree, even at p = 0.5."""
    return probs > threshold


def predicted_labels(probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class index per pixel/sample: thresholded for one sigmoid channel, argmax otherwise."""
    if probs.shape[-1] == 1:
        return positive(probs[..., 0], threshold).astype("int64")
    return probs.argmax(-1)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """K x K counts (rows: true class, columns: predicted) over every element."""
    t = np.asarray(y_true).reshape(-1).astype("int64")
    p = np.asarray(y_pred).reshape(-1).astype("int64")
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(
        num_classes, num_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where a class is absent from both truth and prediction."""
    num, den = num.astype("float64"), den.astype("float64")
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def dice_per_class(matrix: np.ndarray) -> np.ndarray:
    """2 TP / (2 TP + FP + FN) per class."""
    tp = np.diag(matrix)
    return _ratio(2 * tp, matrix.sum(0) + matrix.sum(1))


def iou_per_class(matrix: np.ndarray) -> np.ndarray:
    """TP / (TP + FP + FN) per class (Jaccard)."""
    tp = np.diag(matrix)
    return _ratio(tp, matrix.sum(0) + matrix.sum(1) - tp)


def regression_errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """MAE, RMSE and R² per output column (rows are samples)."""
    y_true = np.asarray(y_true, "float64").reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, "float64").reshape(len(y_pred), -1)
    err = y_pred - y_true
    ss_res = (err**2).sum(0)
    ss_tot = ((y_true - y_true.mean(0)) ** 2).sum(0)
    r2 = _ratio(ss_tot - ss_res, ss_tot)
    return {"mae": np.abs(err).mean(0), "rmse": np.sqrt((err**2).mean(0)), "r2": r2}


def psnr(y_true: np.ndarray, y_pred: np.ndarray, max_val: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB of one pair of images or volumes."""
    mse = float(np.mean((np.asarray(y_true, "float64") - np.asarray(y_pred, "float64")) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(max_val**2 / mse))


# --- Keras: logged every epoch -------------------------------------------------------------------


class _ConfusionMetric(keras.metrics.Metric):
    """Accumulates a K x K confusion matrix of per-element labels (K >= 2)."""

    def __init__(self, num_classes: int = 2, threshold: float = 0.5, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.num_classes = max(2, int(num_classes))
        self.threshold = float(threshold)
        self.matrix = self.add_variable(shape=(self.num_classes, self.num_classes),
                                        initializer="zeros", dtype="float32", name="matrix")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = ops.cast(y_pred, "float32")
        if y_pred.shape[-1] == 1:
            pred = ops.cast(positive(y_pred[..., 0], self.threshold), "int32")
        else:
            pred = ops.argmax(y_pred, axis=-1)
        true = ops.cast(y_true, "int32")
        if len(true.shape) == len(y_pred.shape):
            true = ops.squeeze(true, -1) if true.shape[-1] == 1 else ops.argmax(true, axis=-1)
        k = self.num_classes
        index = ops.reshape(true, (-1,)) * k + ops.reshape(ops.cast(pred, "int32"), (-1,))
        counts = ops.bincount(index, minlength=k * k)
        self.matrix.assign_add(ops.reshape(ops.cast(counts[: k * k], "float32"), (k, k)))

    def _terms(self) -> tuple[Any, Any, Any]:
        tp = ops.diagonal(self.matrix)
        return tp, ops.sum(self.matrix, axis=0) - tp, ops.sum(self.matrix, axis=1) - tp

    def _foreground_mean(self, scores: Any, present: Any) -> Any:
        """Mean over foreground classes (1..K-1) that occur in truth or prediction."""
        scores, present = scores[1:], ops.cast(present[1:], "float32")
        return ops.sum(scores * present) / ops.maximum(ops.sum(present), 1.0)

    def reset_state(self) -> None:
        self.matrix.assign(ops.zeros_like(self.matrix))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes,
                "threshold": self.threshold}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Dice(_ConfusionMetric):
    """Global Dice of the foreground classes (class 0 is background), averaged over classes."""

    def __init__(self, num_classes: int = 2, threshold: float = 0.5, name: str = "dice",
                 **kwargs: Any) -> None:
        super().__init__(num_classes, threshold, name=name, **kwargs)

    def result(self) -> Any:
        tp, fp, fn = self._terms()
        den = 2 * tp + fp + fn
        return self._foreground_mean(2 * tp / ops.maximum(den, 1.0), den > 0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class IoU(_ConfusionMetric):
    """Global intersection over union of the foreground classes, averaged over classes."""

    def __init__(self, num_classes: int = 2, threshold: float = 0.5, name: str = "iou",
                 **kwargs: Any) -> None:
        super().__init__(num_classes, threshold, name=name, **kwargs)

    def result(self) -> Any:
        tp, fp, fn = self._terms()
        den = tp + fp + fn
        return self._foreground_mean(tp / ops.maximum(den, 1.0), den > 0)


class _ImageMean(keras.metrics.Mean):
    """Mean over images (3D volumes: over slices) of a tf.image score with `max_val`."""

    def __init__(self, max_val: float = 1.0, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.max_val = float(max_val)

    def score(self, y_true: Any, y_pred: Any) -> Any:
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        super().update_state(self.score(y_true, y_pred))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_val": self.max_val}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PSNR(_ImageMean):
    """Peak signal-to-noise ratio in dB (tf.image.psnr)."""

    def __init__(self, max_val: float = 1.0, name: str = "psnr", **kwargs: Any) -> None:
        super().__init__(max_val, name=name, **kwargs)

    def score(self, y_true: Any, y_pred: Any) -> Any:
        import tensorflow as tf

        return tf.image.psnr(as_images(y_true), as_images(y_pred), max_val=self.max_val)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SSIM(_ImageMean):
    """Structural similarity (tf.image.ssim)."""

    def __init__(self, max_val: float = 1.0, name: str = "ssim", **kwargs: Any) -> None:
        super().__init__(max_val, name=name, **kwargs)

    def score(self, y_true: Any, y_pred: Any) -> Any:
        return ssim(y_true, y_pred, self.max_val)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CountMeanAbsoluteError(keras.metrics.Mean):
    """Mean |predicted count - true count| per image, where a count is the map's sum / scale."""

    def __init__(self, scale: float = 1.0, name: str = "count_mae", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.scale = float(scale)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        axes = tuple(range(1, len(y_pred.shape)))
        error = ops.sum(ops.cast(y_pred, "float32"), axis=axes) - ops.sum(
            ops.cast(y_true, "float32"), axis=axes)
        super().update_state(ops.abs(error) / self.scale, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}
