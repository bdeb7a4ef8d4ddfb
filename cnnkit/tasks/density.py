"""Counting by density maps (Lempitsky & Zisserman 2010): regress a per-pixel density whose sum
over the image is the number of objects.

The target map carries one unit of mass per object, so counts need no detector and touching
objects still count. Targets are multiplied by `task.scale` for training (a unit Gaussian of
sigma 1.5 peaks at 0.07, too small for a plain per-pixel loss to notice); predictions are divided
by it again, so reported maps and counts are in objects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.lazy import lazy
from cnnkit.tasks import TASKS
from cnnkit.tasks.base import PredictionTable, Task, print_metrics_table
from cnnkit.tasks.schemas import PIXEL_LOSSES, DensitySchema
from cnnkit.tasks.segmentation import set_default

losses = lazy("cnnkit.tasks.losses")  # Keras objects: imported when first used
metrics = lazy("cnnkit.tasks.metrics")  # Keras objects: imported when first used



def counts(density: Any) -> np.ndarray:
    """Objects per sample: the sum of each density map over every axis but the first."""
    density = np.asarray(density, "float64")
    return density.reshape(len(density), -1).sum(axis=1)


@TASKS.register("density", schema=DensitySchema)
class Density(Task):
    name = "density"
    target_kind = "mask"  # moves with the image under geometric transforms, never re-lit
    output_kind = "counts"  # the counts as a table, the density maps beside it

    @property
    def scale(self) -> float:
        scale = float(self.option("scale", 100.0))
        if scale <= 0:
            raise ConfigError(f"`task.scale` must be a positive number. Received: {scale}")
        return scale

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None,
                              input_shape: list[int] | None = None) -> None:
        set_default(model_cfg, "num_classes", 1)  # one density channel
        set_default(model_cfg, "output_activation", "linear")

    def target_fn(self) -> Any:
        import tensorflow as tf

        scale = self.scale
        return lambda y: tf.cast(y, tf.float32) * scale

    def loss(self, model: Any) -> Any:
        name = str(self.option("loss", "mse"))
        losses.check_loss(name, PIXEL_LOSSES, "density counting")
        return losses.build_loss(name, self.cfg, 1, False)

    def metrics(self, model: Any) -> list[Any]:
        return [metrics.CountMeanAbsoluteError(self.scale)]

    def predict(self, model: Any, inputs: Any) -> np.ndarray:
        """Density maps in objects per pixel (the training scale undone)."""
        return np.asarray(model.predict(inputs, verbose=0)) / self.scale

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        report: dict[str, Any] = {
            k: float(v) for k, v in model.evaluate(dataset, return_dict=True, verbose=0).items()
        }
        true = counts(np.concatenate([np.asarray(y) for _, y in dataset])) / self.scale
        predicted = counts(self.predict(model, dataset))
        errors = metrics.regression_errors(true, predicted)
        report.update({key: float(value[0]) for key, value in errors.items()})
        report["mean_count"] = float(true.mean())
        report["mean_predicted_count"] = float(predicted.mean())
        report["num_samples"] = int(len(true))
        return report

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        print_metrics_table(report, console, title="Counting (mae, rmse, r2 of the counts)")

    def prediction_table(self, outputs: np.ndarray, ids: list[str],
                         class_names: list[str] | None) -> PredictionTable:
        """`id,count` rows: the objects counted in each input (the maps are written as they are)."""
        return PredictionTable(["id", "count"],
                               [[sample_id, count] for sample_id, count in zip(ids, counts(outputs),
                                                                               strict=True)],
                               float_format=".4f")
