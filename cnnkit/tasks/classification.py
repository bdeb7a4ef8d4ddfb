"""Single-label classification: softmax output, cross-entropy, accuracy and per-class scores."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.rundir import write_text
from cnnkit.tasks import TASKS
from cnnkit.tasks.base import Task


def output_is_probability(model: Any) -> bool:
    """True when the model's (single) output already applies softmax or sigmoid."""
    layer = model.layers[-1]
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", str(activation or ""))
    return type(layer).__name__ == "Softmax" or name in ("softmax", "sigmoid")


@TASKS.register("classification")
class Classification(Task):
    name = "classification"

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None) -> None:
        if model_cfg.get("num_classes") is None:
            if not class_names:
                raise ConfigError(
                    "`model.num_classes` is null and the data has no class names. "
                    "Expected an integer, e.g. model.num_classes=10"
                )
            model_cfg.num_classes = len(class_names)

    def target_fn(self) -> Any:
        import tensorflow as tf

        return lambda y: tf.cast(y, tf.int32)

    def _top_k(self, model: Any) -> int:
        num_classes = int(model.outputs[0].shape[-1])
        k = int(self.cfg.get("top_k", 5))
        return k if 1 < k < num_classes else 0

    def loss(self, model: Any) -> Any:
        import keras

        name = str(self.cfg.get("loss", "auto"))
        if name not in ("auto", "sparse_categorical_crossentropy"):
            raise ConfigError(
                f"`task.loss` must be auto or sparse_categorical_crossentropy. Received: {name!r}"
            )
        return keras.losses.SparseCategoricalCrossentropy(
            from_logits=not output_is_probability(model)
        )

    def metrics(self, model: Any) -> list[Any]:
        import keras

        metrics: list[Any] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        k = self._top_k(model)
        if k:
            metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=k, name=f"top{k}_accuracy"))
        return metrics

    def predict(self, model: Any, inputs: Any) -> np.ndarray:
        import keras

        outputs = np.asarray(model.predict(inputs, verbose=0))
        if not output_is_probability(model):
            outputs = np.asarray(keras.ops.softmax(outputs, axis=-1))
        return outputs

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

        report: dict[str, Any] = {
            k: float(v) for k, v in model.evaluate(dataset, return_dict=True, verbose=0).items()
        }
        y_true = np.concatenate([np.asarray(y) for _, y in dataset]).astype(int)
        probs = self.predict(model, dataset)
        y_pred = probs.argmax(-1)
        n_classes = probs.shape[-1]
        names = class_names or [str(i) for i in range(n_classes)]
        labels = list(range(n_classes))
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0
        )
        report["num_samples"] = int(len(y_true))
        report["macro_f1"] = float(np.mean(f1))
        if n_classes == 2:
            report["auc"] = float(roc_auc_score(y_true, probs[:, 1])) if len(set(y_true)) == 2 else None
        elif len(set(y_true)) == n_classes:
            report["auc"] = float(roc_auc_score(y_true, probs, multi_class="ovr", labels=labels))
        report["per_class"] = {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
        }
        report["class_names"] = names
        report["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
        return report

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        from rich.table import Table

        summary = Table(title="Metrics", show_header=False)
        for key, value in report.items():
            if isinstance(value, float):
                summary.add_row(key, f"{value:.4f}")
        summary.add_row("num_samples", str(report["num_samples"]))
        console.print(summary)
        per_class = Table(title="Per class")
        for column in ("class", "precision", "recall", "f1", "support"):
            per_class.add_column(column, justify="right")
        for name, row in report["per_class"].items():
            per_class.add_row(name, *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1")),
                              str(row["support"]))
        console.print(per_class)
        matrix = Table(title="Confusion matrix (rows: true, columns: predicted)")
        matrix.add_column("")
        for name in report["class_names"]:
            matrix.add_column(name, justify="right")
        for name, row in zip(report["class_names"], report["confusion_matrix"], strict=True):
            matrix.add_row(name, *map(str, row))
        console.print(matrix)

    def write_predictions(self, outputs: np.ndarray, ids: list[str],
                          class_names: list[str] | None, path: Path, inputs: Any = None) -> None:
        names = class_names or [str(i) for i in range(outputs.shape[-1])]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["id", "prediction", *(f"prob_{n}" for n in names)])
        for sample_id, probs in zip(ids, outputs, strict=True):
            writer.writerow([sample_id, names[int(np.argmax(probs))], *(f"{p:.6f}" for p in probs)])
        write_text(path, buffer.getvalue())
