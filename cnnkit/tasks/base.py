"""The interface every task implements."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Task:
    """Losses, metrics, reports and prediction writers for one kind of target."""

    name = "task"
    #: what the target is, so augmentation and preprocessing know how to move it with the image:
    #: "label" | "mask" | "boxes" | "values" | "image", or a dict head name -> kind (multi-task)
    target_kind: Any = "label"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None) -> None:
        """Fill what the model spec leaves to the data (e.g. `num_classes`)."""

    def target_fn(self) -> Any:
        """A tf function applied to each raw target in the pipeline (None: unchanged)."""
        return None

    def loss(self, model: Any) -> Any:
        raise NotImplementedError

    def metrics(self, model: Any) -> list[Any]:
        raise NotImplementedError

    def predict(self, model: Any, inputs: Any) -> Any:
        """Model outputs for a batch or dataset, in the form `write_predictions` expects."""
        import numpy as np

        return np.asarray(model.predict(inputs, verbose=0))

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        """Metrics on a dataset: a flat JSON-able dict (per-class entries included)."""
        raise NotImplementedError

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        raise NotImplementedError

    def write_predictions(self, outputs: Any, ids: list[str], class_names: list[str] | None,
                          path: Path) -> None:
        raise NotImplementedError
