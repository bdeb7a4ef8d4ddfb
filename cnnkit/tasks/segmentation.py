"""Semantic segmentation, 2D and 3D: a class per pixel/voxel.

Two classes (background, foreground) -> one sigmoid channel; K > 2 -> K softmax channels. The
masks hold class indices. Evaluate scores one confusion matrix over the whole split: Dice and
IoU per class, their means over the foreground classes, and pixel accuracy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.lazy import lazy
from cnnkit.tasks import TASKS
from cnnkit.tasks.base import PredictionImages, Task, print_metrics_table
from cnnkit.tasks.classification import output_is_probability
from cnnkit.tasks.dense import check_output_format, predict_dense
from cnnkit.tasks.schemas import SEGMENTATION_LOSSES, SegmentationSchema
from cnnkit.tasks.sliding_window import window_options

losses = lazy("cnnkit.tasks.losses")  # Keras objects: imported when first used
metrics = lazy("cnnkit.tasks.metrics")  # Keras objects: imported when first used

BINARY_ONLY = ("bce", "weighted_bce")
EXAMPLES = 8  # images whose truth and prediction evaluate keeps for its overlay plot


def _foreground_mean(values: np.ndarray) -> float | None:
    """The mean over foreground classes; None where no foreground class is defined."""
    foreground = values[1:][~np.isnan(values[1:])]
    return float(foreground.mean()) if foreground.size else None


def _scores(matrix: np.ndarray) -> dict[str, float | None]:
    """Dice and IoU (foreground means), mean IoU and pixel accuracy of one confusion matrix."""
    dice, iou = metrics.dice_per_class(matrix), metrics.iou_per_class(matrix)
    defined = iou[~np.isnan(iou)]
    return {"dice": _foreground_mean(dice), "iou": _foreground_mean(iou),
            "mean_iou": float(defined.mean()) if defined.size else None,
            "pixel_accuracy": float(np.trace(matrix) / max(matrix.sum(), 1))}


def set_default(model_cfg: Any, key: str, value: Any) -> None:
    """Fill `model.<key>` unless the user set it."""
    if model_cfg.get(key) is None:
        model_cfg[key] = value


@TASKS.register("segmentation", schema=SegmentationSchema)
class Segmentation(Task):
    name = "segmentation"
    target_kind = "mask"
    output_kind = "images"

    @property
    def classes(self) -> list[str]:
        classes = [str(c) for c in self.option("classes", ["background", "foreground"])]
        if len(classes) < 2:
            raise ConfigError(f"`task.classes` must name at least 2 classes (background first). "
                              f"Received: {classes}")
        return classes

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None,
                              input_shape: list[int] | None = None) -> None:
        set_default(model_cfg, "num_classes", 1 if self.binary else len(self.classes))
        set_default(model_cfg, "output_activation", "sigmoid" if self.binary else "softmax")

    def target_fn(self) -> Any:
        import tensorflow as tf

        return lambda y: tf.cast(y, tf.int32)

    def _channels(self, model: Any) -> int:
        channels = int(model.outputs[0].shape[-1])
        expected = 1 if self.binary else len(self.classes)
        if channels != expected:
            raise ConfigError(
                f"The model has {channels} output channels but `task.classes` has "
                f"{len(self.classes)} classes. Expected {expected} (1 sigmoid channel for 2 "
                "classes, one softmax channel per class otherwise)."
            )
        return channels

    def loss(self, model: Any) -> Any:
        name = str(self.option("loss", "crossentropy"))
        losses.check_loss(name, SEGMENTATION_LOSSES, "segmentation")
        if name in BINARY_ONLY and not self.binary:
            raise ConfigError(f"`task.loss={name}` needs two classes (one sigmoid channel). "
                              f"Received {len(self.classes)} classes; use crossentropy or ce_dice")
        return losses.build_loss(name, self.cfg, self._channels(model), not output_is_probability(model))

    def metrics(self, model: Any) -> list[Any]:
        import keras

        threshold = 0.5 if output_is_probability(model) else 0.0
        k = len(self.classes)
        accuracy = (keras.metrics.BinaryAccuracy(name="pixel_accuracy", threshold=threshold)
                    if self.binary else keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy"))
        return [metrics.Dice(k, threshold), metrics.IoU(k, threshold), accuracy]

    def probability_activation(self, model: Any) -> str | None:
        if output_is_probability(model):
            return None
        return "sigmoid" if self.binary else "softmax"

    def finalize(self, model: Any, outputs: Any) -> Any:
        """Per-pixel class probabilities (one sigmoid channel for two classes)."""
        activation = self.probability_activation(model)
        if activation is None:
            return outputs
        import keras

        return getattr(keras.ops, activation)(outputs)

    def _probabilities(self, model: Any, outputs: np.ndarray) -> np.ndarray:
        return np.asarray(self.finalize(model, outputs))

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        report: dict[str, Any] = {
            k: float(v) for k, v in model.evaluate(dataset, return_dict=True, verbose=0).items()
        }
        k = len(self.classes)
        per_image, examples = [], {"inputs": [], "truth": [], "predicted": []}
        for x, y in dataset:
            probs = self._probabilities(model, np.asarray(model.predict_on_batch(x)))
            labels, truth = metrics.predicted_labels(probs), np.asarray(y)
            per_image += [metrics.confusion(t, p, k) for t, p in zip(truth, labels, strict=True)]
            room = EXAMPLES - len(examples["truth"])
            examples["inputs"] += list(np.asarray(x)[:room])
            examples["truth"] += list(truth[:room])
            examples["predicted"] += list(labels[:room])
        matrices = np.stack(per_image) if per_image else np.zeros((0, k, k), "int64")
        matrix = matrices.sum(0)
        self.samples = {"confusion": matrices, "examples": examples,
                        "dice": [_foreground_mean(metrics.dice_per_class(m)) for m in matrices]}
        report.update(num_samples=len(matrices), **_scores(matrix))
        dice, iou = metrics.dice_per_class(matrix), metrics.iou_per_class(matrix)
        for name, d, j in zip(self.classes, dice, iou, strict=True):
            report[f"dice/{name}"] = None if np.isnan(d) else float(d)
            report[f"iou/{name}"] = None if np.isnan(j) else float(j)
        report["class_names"] = self.classes
        report["confusion_matrix"] = matrix.tolist()
        return report

    def bootstrap_statistic(self) -> Any:
        """Dice, IoU, mean IoU and pixel accuracy of resampled images (their matrices summed,
        as for the whole split)."""
        if "confusion" not in self.samples:
            return None
        matrices = self.samples["confusion"]
        return lambda index: _scores(matrices[index].sum(0))

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        from rich.table import Table

        print_metrics_table({k: v for k, v in report.items() if "/" not in k}, console)
        table = Table(title="Per class")
        for column in ("class", "dice", "iou", "pixels (true)"):
            table.add_column(column, justify="right")
        for name, row in zip(report["class_names"], report["confusion_matrix"], strict=True):
            cells = [report[f"{m}/{name}"] for m in ("dice", "iou")]
            table.add_row(name, *("-" if c is None else f"{c:.4f}" for c in cells), str(sum(row)))
        console.print(table)

    def predict_samples(self, model: Any, raw_inputs: list[np.ndarray],
                        preprocessing: Any) -> list[np.ndarray]:
        """Class probabilities per input, at each input's own size."""
        outputs = predict_dense(model, raw_inputs, preprocessing,
                                int(self.option("size_multiple", 16)), nearest=False,
                                options=window_options(self.run_cfg))
        return [self._probabilities(model, y) for y in outputs]

    def prediction_images(self, outputs: list[np.ndarray]) -> PredictionImages:
        """One label mask per input: PNG (binary as 0/255 gray, else class indices in a palette
        image), NIfTI or .npy."""
        fmt = check_output_format(str(self.option("output_format", "auto")))
        threshold = float(self.option("threshold", 0.5))
        masks = [metrics.predicted_labels(probs, threshold).astype("uint8")[..., np.newaxis]
                 for probs in outputs]
        return PredictionImages(masks, fmt, png_scale=255.0 if self.binary else 1.0,
                                class_names=self.classes)
