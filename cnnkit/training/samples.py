"""The per-epoch sample grid of generative tasks: `samples/epoch_NNN.png` in the run directory.

The grid is drawn from the same noise every epoch (the task's `grid`), with the EMA weights when
`trainer.ema` keeps them, so the files show one set of samples improving. Not resumable state:
a resumed run writes the epochs it trains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from cnnkit.io import rundir
from cnnkit.io.samples import write_grid
from cnnkit.training.callbacks import ema_weights


class SampleGrids(keras.callbacks.Callback):
    def __init__(self, run_path: Path, task: Any) -> None:
        super().__init__()
        self.folder = Path(run_path) / rundir.SAMPLES
        self.task = task

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        with ema_weights(self.model):
            images, columns = self.task.grid(self.model)
        write_grid(self.folder / f"epoch_{epoch + 1:03d}.png", images, columns)


def task_callbacks(run_path: Path, task: Any) -> list[Any]:
    """The callbacks a task's kind of model asks for (a generative task: its sample grids)."""
    return [SampleGrids(run_path, task)] if hasattr(task, "grid") else []
