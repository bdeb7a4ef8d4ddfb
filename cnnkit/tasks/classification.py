"""Classification of whole images: multi-class (softmax), binary (one sigmoid unit) and
multi-label (one sigmoid unit per class, each with a threshold).

Losses: cross-entropy (sparse, or categorical on one-hot targets when label smoothing or
mixup/cutmix need soft labels) or focal loss; `class_weight: balanced` weighs each class by
n / (K x count) from the training split's counts. Evaluate reports accuracy, AUC, macro F1,
per-class precision/recall/F1 and the confusion matrix; multi-label adds per-class AUROC and
average precision. `task.mode=auto` is multilabel when the data give multi-hot labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.lazy import lazy
from cnnkit.tasks import TASKS
from cnnkit.tasks.base import PredictionTable, Task, print_metrics_table
from cnnkit.tasks.bootstrap import per_sample_losses
from cnnkit.tasks.calibration import expected_calibration_error
from cnnkit.tasks.classification_scores import ClassificationScores
from cnnkit.tasks.schemas import CLASSIFICATION_LOSSES, ClassificationSchema

losses = lazy("cnnkit.tasks.losses")  # Keras objects: imported when first used
metrics = lazy("cnnkit.tasks.metrics")  # Keras objects: imported when first used

MODES = ("auto", "multiclass", "binary", "multilabel")


def resolve_mode(mode: str, data_cfg: Any) -> str:
    """`task.mode` for the data: auto is multilabel when the data say their labels are multi-hot
    (`data.label_separator`, `data.label_columns`); a single-label mode is refused for them."""
    from cnnkit.data.sources import multilabel_data

    if mode not in MODES:
        raise ConfigError(f"`task.mode` must be one of {', '.join(MODES)}. Received: {mode!r}")
    multi_hot = multilabel_data(data_cfg) if data_cfg is not None else None
    if multi_hot and mode in ("multiclass", "binary"):
        raise ConfigError(f"`task.mode={mode}` learns one label per image, but {multi_hot} "
                          "gives several (multi-hot). Use task.mode=multilabel (or auto).")
    return "multilabel" if multi_hot and mode == "auto" else mode


def output_activation_name(model: Any) -> str:
    """The activation of the (single) output layer: softmax, sigmoid, linear, ..."""
    layer = model.layers[-1]
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", str(activation or "linear"))


def output_is_probability(model: Any) -> bool:
    """True when the model's (single) output already applies softmax or sigmoid."""
    return output_activation_name(model) in ("softmax", "sigmoid")


@TASKS.register("classification", schema=ClassificationSchema)
class Classification(Task):
    name = "classification"
    target_kind = "label"

    @property
    def mode(self) -> str:
        """`task.mode` as `resolve_mode` reads it for the run's data."""
        data = self.run_cfg.get("data") if self.run_cfg is not None else None
        return resolve_mode(str(self.option("mode", "auto")), data)

    @property
    def one_hot(self) -> bool:
        """Targets as one-hot vectors: label smoothing here, or mixup/cutmix in `augment`."""
        from cnnkit.augment import needs_one_hot

        augment = self.run_cfg.get("augment") if self.run_cfg is not None else None
        return float(self.option("label_smoothing", 0.0)) > 0 or needs_one_hot(augment)

    def _kind(self, model: Any) -> str:
        """multiclass | binary | multilabel, from `task.mode` and the model's output."""
        units = int(model.outputs[0].shape[-1])
        mode = self.mode
        kind = mode if mode != "auto" else ("binary" if units == 1 else "multiclass")
        if kind in ("binary", "multilabel") and output_activation_name(model) == "softmax":
            raise ConfigError(
                f"`task.mode={kind}` needs a sigmoid output, but the model's output layer uses "
                "softmax. Set its activation to ${model.output_activation} (the task fills it in)."
            )
        if kind == "binary" and units != 1:
            raise ConfigError(f"`task.mode=binary` needs one output unit. The model has {units}.")
        if kind == "binary" and self.one_hot:
            raise ConfigError("Binary classification with one sigmoid unit takes 0/1 targets; "
                              "for label smoothing or mixup/cutmix use task.mode=multiclass")
        return kind

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None,
                              input_shape: list[int] | None = None) -> None:
        if model_cfg.get("num_classes") is None:
            if not class_names:
                raise ConfigError(
                    "`model.num_classes` is null and the data has no class names. "
                    "Expected an integer, e.g. model.num_classes=10"
                )
            model_cfg.num_classes = 1 if self.mode == "binary" else len(class_names)
        if model_cfg.get("output_activation") is None:
            model_cfg.output_activation = "softmax" if self.mode in ("auto", "multiclass") \
                else "sigmoid"

    def target_fn(self) -> Any:
        import tensorflow as tf

        if self.mode == "multilabel":
            return lambda y: tf.cast(y, tf.float32)
        classes = self.state.get("num_classes")
        if float(self.option("label_smoothing", 0.0)) > 0 and classes:
            return lambda y: tf.one_hot(tf.cast(y, tf.int32), int(classes))
        return lambda y: tf.cast(y, tf.int32)

    def fit(self, data: Any) -> None:
        """The number of classes (one-hot targets) and, for `class_weight: balanced`, the class
        counts of the training split."""
        from cnnkit.data.pipeline import split_targets

        names = data.preprocessing.class_names or []
        if names and self.mode != "binary" and self.one_hot:
            self.state["num_classes"] = len(names)
        weighting = self.option("class_weight")
        if weighting is None:
            return
        if weighting != "balanced" or self.mode == "multilabel":
            raise ConfigError("`task.class_weight` must be null or balanced (single-label "
                              f"classification). Received: {weighting!r} with mode {self.mode}")
        labels = np.asarray(split_targets(data.source.split("train"))).reshape(-1).astype(int)
        counts = np.bincount(labels, minlength=max(len(names), 2))
        weights = len(labels) / (len(counts) * np.maximum(counts, 1))
        self.state["class_counts"] = counts.tolist()
        self.state["class_weight"] = weights.tolist()

    def fit_options(self) -> dict[str, Any]:
        weights = self.state.get("class_weight")
        return {"class_weight": dict(enumerate(weights))} if weights else {}

    def _top_k(self, model: Any) -> int:
        num_classes = int(model.outputs[0].shape[-1])
        k = int(self.option("top_k", 5))
        return k if 1 < k < num_classes else 0

    def loss(self, model: Any) -> Any:
        import keras

        name = str(self.option("loss", "auto"))
        if name not in CLASSIFICATION_LOSSES:
            raise ConfigError(f"`task.loss` must be one of {', '.join(CLASSIFICATION_LOSSES)} "
                              f"for classification. Received: {name!r}")
        kind, logits = self._kind(model), not output_is_probability(model)
        smoothing = float(self.option("label_smoothing", 0.0))
        if name == "focal":
            return losses.FocalCrossentropy(float(self.option("focal_gamma", 2.0)),
                                     self.option("focal_alpha"), from_logits=logits)
        if kind in ("binary", "multilabel"):
            return keras.losses.BinaryCrossentropy(from_logits=logits, label_smoothing=smoothing)
        if self.one_hot:
            return keras.losses.CategoricalCrossentropy(from_logits=logits,
                                                        label_smoothing=smoothing)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=logits)

    def metrics(self, model: Any) -> list[Any]:
        import keras

        kind = self._kind(model)
        if kind in ("binary", "multilabel"):
            threshold = 0.5 if output_is_probability(model) else 0.0
            return [keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold),
                    keras.metrics.AUC(name="auc", multi_label=kind == "multilabel",
                                      from_logits=not output_is_probability(model))]
        if self.one_hot:
            metrics: list[Any] = [keras.metrics.CategoricalAccuracy(name="accuracy")]
        else:
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        k = self._top_k(model)
        if k:
            top_k = (keras.metrics.TopKCategoricalAccuracy if self.one_hot
                     else keras.metrics.SparseTopKCategoricalAccuracy)
            metrics.append(top_k(k=k, name=f"top{k}_accuracy"))
        return metrics

    def probability_activation(self, model: Any) -> str | None:
        if output_is_probability(model):
            return None
        return "softmax" if self._kind(model) == "multiclass" else "sigmoid"

    def finalize(self, model: Any, outputs: Any) -> Any:
        """Class probabilities (N, K); binary models give [p(0), p(1)]."""
        import keras

        activation = self.probability_activation(model)
        if activation:
            outputs = getattr(keras.ops, activation)(outputs)
        if self._kind(model) == "binary":
            outputs = keras.ops.concatenate([1 - outputs, outputs], axis=-1)
        return outputs

    def thresholds(self, count: int) -> np.ndarray:
        """Per-class decision thresholds of a multi-label model (`task.threshold`)."""
        value = self.option("threshold", 0.5)
        values = np.full(count, float(value)) if isinstance(value, int | float) \
            else np.asarray(list(value), "float64")
        if values.shape != (count,):
            raise ConfigError(f"`task.threshold` must be one number or {count} numbers. "
                              f"Received: {value!r}")
        return values

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

        report: dict[str, Any] = {
            k: float(v) for k, v in model.evaluate(dataset, return_dict=True, verbose=0).items()
        }
        y = np.concatenate([np.asarray(t) for _, t in dataset])
        raw = np.asarray(model.predict(dataset, verbose=0))
        probs = np.asarray(self.finalize(model, raw))
        n_classes = probs.shape[-1]
        names = class_names or [str(i) for i in range(n_classes)]
        if self._kind(model) == "multilabel":
            self.samples = {}
            return self._evaluate_multilabel(report, y.astype(int), probs, names)
        y_true = y.argmax(-1) if y.ndim == 2 else y.reshape(-1).astype(int)
        y_pred = probs.argmax(-1)
        self.samples = {"y_true": y_true, "probs": probs,
                        "loss": per_sample_losses(self.loss(model), y, raw),
                        "top_k": self._top_k(model)}
        labels = list(range(n_classes))
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0
        )
        report["num_samples"] = int(len(y_true))
        report["accuracy"] = float(np.mean(y_true == y_pred))
        report["macro_f1"] = float(np.mean(f1))
        present = len(set(y_true.tolist()))
        if n_classes == 2:
            report["auc"] = float(roc_auc_score(y_true, probs[:, 1])) if present == 2 else None
        elif present == n_classes:
            report["auc"] = float(roc_auc_score(y_true, probs, multi_class="ovr", labels=labels))
        report["per_class"] = {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
        }
        report["ece"] = expected_calibration_error(y_true, probs)
        report["class_names"] = names
        report["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
        return report

    def bootstrap_statistic(self) -> Any:
        """Loss, accuracy, top-k, macro F1, AUC and ECE of single-label samples."""
        if "probs" not in self.samples:
            return None
        return ClassificationScores(**self.samples)

    def _evaluate_multilabel(self, report: dict[str, Any], y_true: np.ndarray, probs: np.ndarray,
                             names: list[str]) -> dict[str, Any]:
        """Per class, as CheXNet reports: AUROC and average precision (threshold-free; null
        where the split holds only one value of the class), then precision/recall/F1 at the
        class's decision threshold (`task.threshold`)."""
        from sklearn.metrics import (
            average_precision_score,
            precision_recall_fscore_support,
            roc_auc_score,
        )

        thresholds = self.thresholds(probs.shape[-1])
        y_pred = metrics.positive(probs, thresholds).astype(int)
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, zero_division=0)
        report["num_samples"] = int(len(y_true))
        report["accuracy"] = float(np.mean(y_true == y_pred))  # per label decision
        report["subset_accuracy"] = float(np.mean((y_true == y_pred).all(-1)))
        report["macro_f1"] = float(np.mean(f1))
        both = [bool(y_true[:, k].min() != y_true[:, k].max()) for k in range(len(names))]
        auroc = [float(roc_auc_score(y_true[:, k], probs[:, k])) if ok else None
                 for k, ok in enumerate(both)]
        ap = [float(average_precision_score(y_true[:, k], probs[:, k])) if ok else None
              for k, ok in enumerate(both)]
        scored = [k for k, ok in enumerate(both) if ok]
        report["auc"] = float(np.mean([auroc[k] for k in scored])) if scored else None
        report["mean_average_precision"] = float(np.mean([ap[k] for k in scored])) \
            if scored else None
        report["per_class"] = {
            name: {"auroc": auroc[k], "average_precision": ap[k],
                   "threshold": float(thresholds[k]), "precision": float(precision[k]),
                   "recall": float(recall[k]), "f1": float(f1[k]), "support": int(support[k])}
            for k, name in enumerate(names)
        }
        report["class_names"] = names
        return report

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        from rich.table import Table

        print_metrics_table(report, console)
        per_class = Table(title="Per class")
        rows = report["per_class"]
        scores = [k for k in ("auroc", "average_precision", "threshold", "precision", "recall",
                              "f1") if all(k in row for row in rows.values())]
        for column in ("class", *scores, "support"):
            per_class.add_column(column.replace("average_precision", "AP"), justify="right")
        for name, row in rows.items():
            per_class.add_row(name, *("-" if row[k] is None else f"{row[k]:.3f}" for k in scores),
                              str(row["support"]))
        console.print(per_class)
        if "confusion_matrix" not in report:
            return
        matrix = Table(title="Confusion matrix (rows: true, columns: predicted)")
        matrix.add_column("")
        for name in report["class_names"]:
            matrix.add_column(name, justify="right")
        for name, row in zip(report["class_names"], report["confusion_matrix"], strict=True):
            matrix.add_row(name, *map(str, row))
        console.print(matrix)

    def prediction_table(self, outputs: np.ndarray, ids: list[str],
                         class_names: list[str] | None) -> PredictionTable:
        """id, the predicted class (multi-label: the classes over threshold, joined by `;`),
        then one probability column per class."""
        names = class_names or [str(i) for i in range(outputs.shape[-1])]
        multilabel = self.mode == "multilabel"
        thresholds = self.thresholds(len(names)) if multilabel else None
        rows = []
        for sample_id, probs in zip(ids, outputs, strict=True):
            if multilabel:
                label = ";".join(n for n, p, t in zip(names, probs, thresholds, strict=True)
                                 if metrics.positive(p, t))
            else:
                label = names[int(np.argmax(probs))]
            rows.append([sample_id, label, *probs])
        return PredictionTable(["id", "prediction", *(f"prob_{n}" for n in names)], rows,
                               float_format=".6f")
