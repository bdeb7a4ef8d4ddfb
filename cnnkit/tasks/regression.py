"""Regression of a scalar or a vector (an age, bounding-box corners x1,y1,x2,y2, a centre).

Targets are standardised per output with the training split's mean and std (`task.normalize`),
so outputs of different scales weigh alike in the loss; the statistics are saved in the run's
`task.json` and undone before anything is reported or written, so errors and predictions are
in the data's own units. Outputs are named by `task.outputs`, else after the data's targets
(`data.target_columns`: radius, brightness), else `value`; the names are saved in `task.json`
too, so `evaluate` and `predict` write the names the run trained with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.lazy import lazy
from cnnkit.tasks import TASKS
from cnnkit.tasks.base import PredictionTable, Task, print_metrics_table
from cnnkit.tasks.bootstrap import per_sample_losses
from cnnkit.tasks.schemas import REGRESSION_LOSSES, RegressionSchema
from cnnkit.tasks.segmentation import set_default

losses = lazy("cnnkit.tasks.losses")  # Keras objects: imported when first used
metrics = lazy("cnnkit.tasks.metrics")  # Keras objects: imported when first used


@TASKS.register("regression", schema=RegressionSchema)
class Regression(Task):
    name = "regression"

    @property
    def target_kind(self) -> str:  # type: ignore[override]
        """values, or boxes (x1, y1, x2, y2 in [0, 1]) that geometric augmentation moves."""
        kind = str(self.option("target_kind", "values"))
        if kind not in ("values", "boxes"):
            raise ConfigError(f"`task.target_kind` must be values or boxes. Received: {kind!r}")
        return kind

    def configured_names(self) -> list[str]:
        """`task.outputs`; else the data's target names (`data.target_columns`); else `value`.
        Both given: they must agree in number."""
        from cnnkit.data.sources import data_target_names

        data = self.run_cfg.get("data") if self.run_cfg is not None else None
        from_data = data_target_names(data) if data is not None else None
        outputs = self.option("outputs")
        if outputs is None:
            return from_data or ["value"]
        names = [str(n) for n in outputs]
        if from_data and len(from_data) != len(names):
            raise ConfigError(f"`task.outputs` names {len(names)} outputs ({', '.join(names)}) "
                              f"but data.target_columns gives {len(from_data)} "
                              f"({', '.join(from_data)}). Expected as many, or task.outputs=null "
                              "to name them after the columns.")
        return names

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None,
                              input_shape: list[int] | None = None) -> None:
        outputs = self.configured_names()
        if model_cfg.get("num_classes") is None and not outputs:
            raise ConfigError("`task.outputs` is empty and `model.num_classes` is null. Expected "
                              "the output names, e.g. task.outputs=[x1,y1,x2,y2]")
        set_default(model_cfg, "num_classes", len(outputs))
        set_default(model_cfg, "output_activation", "linear")

    def output_names(self, count: int) -> list[str]:
        """The names saved when training (`task.json`), else as configured; `output_<i>` when
        they do not match the model's `count` outputs (a `model.num_classes` set by hand)."""
        names = self.state.get("output_names") or self.configured_names()
        return names if len(names) == count else [f"output_{i}" for i in range(count)]

    def fit(self, data: Any) -> None:
        """The output names, and the mean and std of each output on the training split (raw
        targets)."""
        from cnnkit.data.pipeline import split_targets

        self.state = {"output_names": self.configured_names()}
        if not self.option("normalize", True):
            return
        targets = np.asarray(split_targets(data.source.split("train")), "float64")
        y = targets.reshape(len(targets), -1)
        std = y.std(0)
        self.state.update(target_mean=y.mean(0).tolist(),
                          target_std=np.where(std < 1e-12, 1.0, std).tolist())

    def _stats(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(self.state.get("target_mean", 0.0), "float32"),
                np.asarray(self.state.get("target_std", 1.0), "float32"))

    def target_fn(self) -> Any:
        import tensorflow as tf

        mean, std = self._stats()
        return lambda y: (tf.reshape(tf.cast(y, tf.float32), [-1]) - mean) / std

    def denormalize(self, outputs: np.ndarray) -> np.ndarray:
        mean, std = self._stats()
        return np.asarray(outputs, "float32").reshape(len(outputs), -1) * std + mean

    def loss(self, model: Any) -> Any:
        name = str(self.option("loss", "mse"))
        losses.check_loss(name, REGRESSION_LOSSES, "regression")
        return losses.build_loss(name, self.cfg, int(model.outputs[0].shape[-1]), False)

    def metrics(self, model: Any) -> list[Any]:
        import keras

        return [keras.metrics.MeanAbsoluteError(name="mae"),
                keras.metrics.RootMeanSquaredError(name="rmse")]

    def finalize(self, model: Any, outputs: Any) -> Any:
        """Outputs (N, values) in the targets' own units."""
        import keras

        mean, std = self._stats()
        width = int(np.prod(model.outputs[0].shape[1:]))
        return keras.ops.reshape(keras.ops.cast(outputs, "float32"), (-1, width)) * std + mean

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        loss = model.evaluate(dataset, return_dict=True, verbose=0)["loss"]
        y = np.concatenate([np.asarray(y) for _, y in dataset])
        y_true = self.denormalize(y)
        raw = np.asarray(model.predict(dataset, verbose=0))
        y_pred = np.asarray(self.finalize(model, raw))
        self.samples = {"y_true": y_true, "y_pred": y_pred,
                        "loss": per_sample_losses(self.loss(model), y, raw)}
        errors = metrics.regression_errors(y_true, y_pred)
        names = self.output_names(y_true.shape[-1])
        report: dict[str, Any] = {"loss": float(loss), "num_samples": int(len(y_true))}
        report.update({k: float(np.mean(v)) for k, v in errors.items()})
        for metric, values in errors.items():
            for name, value in zip(names, values, strict=True):
                report[f"{metric}/{name}"] = float(value)
        report["output_names"] = names
        return report

    def bootstrap_statistic(self) -> Any:
        """Loss and the mean MAE, RMSE and R² over outputs, on resampled samples."""
        if "y_pred" not in self.samples:
            return None
        y_true, y_pred, loss = (self.samples[k] for k in ("y_true", "y_pred", "loss"))

        def scores(index: np.ndarray) -> dict[str, float | None]:
            errors = metrics.regression_errors(y_true[index], y_pred[index])
            return {"loss": float(loss[index].mean()),
                    **{k: float(np.mean(v)) for k, v in errors.items()}}

        return scores

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        from rich.table import Table

        print_metrics_table({k: v for k, v in report.items() if "/" not in k}, console,
                            title="Metrics (mean over outputs, in target units)")
        table = Table(title="Per output")
        for column in ("output", "mae", "rmse", "r2"):
            table.add_column(column, justify="right")
        for name in report["output_names"]:
            table.add_row(name, *(f"{report[f'{m}/{name}']:.4f}" for m in ("mae", "rmse", "r2")))
        console.print(table)

    def prediction_table(self, outputs: np.ndarray, ids: list[str],
                         class_names: list[str] | None) -> PredictionTable:
        """id, then one de-normalised column per output."""
        return PredictionTable(["id", *self.output_names(outputs.shape[-1])],
                               [[sample_id, *row] for sample_id, row in zip(ids, outputs, strict=True)])
