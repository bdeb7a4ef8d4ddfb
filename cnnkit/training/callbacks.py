"""Callbacks that write the run directory as training goes, always atomically."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from cnnkit.io import rundir


def monitor_mode(monitor: str, mode: str) -> str:
    if mode != "auto":
        return mode
    accuracy_like = ("acc", "auc", "dice", "iou", "psnr", "ssim", "r2", "f1", "precision", "recall")
    return "max" if any(k in monitor for k in accuracy_like) else "min"


class BestModelCheckpoint(keras.callbacks.Callback):
    """Saves the whole model at its best epoch (by `monitor`) to checkpoints/best.keras."""

    def __init__(self, path: Path, monitor: str, mode: str) -> None:
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def improved(self, value: float) -> bool:
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or math.isnan(float(value)):
            return
        if self.best_epoch is None or self.improved(float(value)):
            self.best, self.best_epoch = float(value), epoch
            rundir.save_model(self.model, self.path)


class HistoryWriter(keras.callbacks.Callback):
    """Rewrites history.csv after every epoch, so a crashed run still has its curves."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        if "learning_rate" not in row:
            row["learning_rate"] = _current_lr(self.model)
        self.rows.append(row)
        columns = list(dict.fromkeys(k for r in self.rows for k in r))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(self.rows)
        rundir.write_text(self.path, buffer.getvalue())


def _current_lr(model: Any) -> float:
    optimizer = model.optimizer
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError, AttributeError):
        return float("nan")


@dataclass
class RunCallbacks:
    """The callbacks of a run, with the one training reads back afterwards named."""

    checkpoint: BestModelCheckpoint  # which epoch was best, to restore its weights
    all: list[Any]  # every callback, for `model.fit`


def build_callbacks(run_path: Path, trainer_cfg: Any, monitor: str) -> RunCallbacks:
    """The standard callbacks of a run; `monitor` is already checked to exist."""
    mode = monitor_mode(monitor, str(trainer_cfg.monitor_mode))
    checkpoint = BestModelCheckpoint(run_path / rundir.BEST_CHECKPOINT, monitor, mode)
    callbacks: list[Any] = [
        HistoryWriter(run_path / rundir.HISTORY),
        checkpoint,
        # resumes an interrupted run in the same directory; removed after a finished fit
        keras.callbacks.BackupAndRestore(str(run_path / rundir.BACKUP)),
    ]
    if trainer_cfg.early_stopping_patience > 0:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=monitor, mode=mode, patience=int(trainer_cfg.early_stopping_patience)))
    if trainer_cfg.reduce_lr_patience > 0:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode=mode, factor=0.5, patience=int(trainer_cfg.reduce_lr_patience)))
    if trainer_cfg.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_path / "tensorboard")))
    return RunCallbacks(checkpoint, callbacks)
