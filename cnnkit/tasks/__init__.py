"""Tasks: what the model predicts, how it is scored, and how predictions are written.

Each task is registered under the name used in `task.name`; `get_task(cfg.task, cfg)` returns an
instance bound to its config (and to the whole run config, for what the task must know about the
data and augmentation).
"""

from __future__ import annotations

import importlib
from typing import Any

from cnnkit.registry import Registry

#: A task is a `Task` subclass constructed as `cls(task_cfg, run_cfg)`; its entry's schema lists
#: the `task.*` keys and says which data targets it learns from (`ACCEPTS`).
TASKS: Registry[type] = Registry("task", "task.name")
TASK_MODULES = ["classification", "regression", "segmentation", "reconstruction", "density", "multitask",
                "autoencoder", "gan", "vae"]


def load_task_modules() -> None:
    """Import every task module: registers the tasks with their schemas (no TensorFlow)."""
    for module in TASK_MODULES:
        importlib.import_module(f"cnnkit.tasks.{module}")


def register_keras_objects() -> None:
    """Import the tasks' Keras losses and metrics, registered serialisable, so any run reloads."""
    for module in ("losses", "metrics"):
        importlib.import_module(f"cnnkit.tasks.{module}")


def get_task(task_cfg: Any, run_cfg: Any = None) -> Any:
    load_task_modules()
    return TASKS.get(str(task_cfg.name))(task_cfg, run_cfg)
