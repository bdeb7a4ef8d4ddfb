"""How far an exported model is from the Keras model it came from, on raw inputs.

The reference is what `cnnkit predict` computes (the pipeline's preprocessing, then the model and
the task's `finalize`); the exported file runs the same raw inputs. Float exports are held to
1e-4; quantised ones report their largest difference and the accuracy change instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.tasks.base import preprocess_batch

TOLERANCE = 1e-4


def reference_outputs(model: Any, task: Any, preprocessing: Any, raw: np.ndarray) -> np.ndarray:
    return np.asarray(task.predict(model, preprocess_batch(raw, preprocessing)), "float32")


def parity(reference: np.ndarray, exported: np.ndarray, quantize: str) -> dict[str, Any]:
    """Largest absolute difference, and for probabilities how often the argmax agrees."""
    diff = float(np.max(np.abs(reference - exported))) if reference.size else 0.0
    result: dict[str, Any] = {"samples": int(len(reference)), "max_abs_diff": diff,
                              "tolerance": TOLERANCE if quantize == "none" else None,
                              "within_tolerance": diff <= TOLERANCE if quantize == "none" else None}
    if reference.ndim == 2 and reference.shape[-1] > 1:
        result["argmax_agreement"] = float(np.mean(reference.argmax(-1) == exported.argmax(-1)))
    return result


def accuracy_change(reference: np.ndarray, exported: np.ndarray,
                    labels: np.ndarray) -> dict[str, float]:
    """Validation accuracy of the Keras model and of the export (class probabilities)."""
    keras_accuracy = float(np.mean(reference.argmax(-1) == labels))
    export_accuracy = float(np.mean(exported.argmax(-1) == labels))
    return {"accuracy_keras": keras_accuracy, "accuracy_exported": export_accuracy,
            "accuracy_change": export_accuracy - keras_accuracy}
