"""Where a run's metrics go besides history.csv: TensorBoard (`trainer.tensorboard=true`) and
MLflow (`logger=mlflow`), as Keras callbacks for the engine's `fit`.

This module imports neither Keras nor MLflow at the top: `check_logger` is a rule of the
validation pass, which runs before TensorFlow is imported.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cnnkit.errors import ConfigError

TENSORBOARD_DIR = "tensorboard"
MLFLOW_INSTALL = 'pip install "cnnkit[mlflow]"'


def check_logger(config: dict[str, Any]) -> None:
    """A rule of the validation pass: `logger=mlflow` needs MLflow installed (found, not
    imported: importing it takes seconds)."""
    name = (config.get("logger") or {}).get("name", "none")
    if name == "mlflow" and importlib.util.find_spec("mlflow") is None:
        raise ConfigError(f"`logger=mlflow` needs MLflow, which is not installed. Install it "
                          f"with: {MLFLOW_INSTALL}")


def build_loggers(run_path: Path, cfg: Any, resume: bool = False) -> list[Any]:
    """The logging callbacks `cfg` asks for: TensorBoard into `<run_path>/tensorboard` and the
    MLflow logger. `resume=True` (a resumed run) continues this run directory's MLflow run.
    Call `finish_loggers` once the run's files are written (or use `run_loggers`)."""
    callbacks: list[Any] = []
    trainer = cfg.trainer
    if trainer.get("tensorboard", False):
        from cnnkit.training.tensorboard import EpochTensorBoard

        callbacks.append(EpochTensorBoard(
            str(Path(run_path) / TENSORBOARD_DIR), profile_batch=0, update_freq="epoch",
            histogram_freq=int(trainer.get("tensorboard_histograms", 0))))
    logger = cfg.get("logger") or {}
    if logger.get("name", "none") == "mlflow":
        from cnnkit.training.mlflow_logger import MlflowLogger

        callbacks.append(MlflowLogger(run_path, cfg, resume=resume))
    return callbacks


def finish_loggers(callbacks: list[Any], status: str = "completed") -> None:
    """Close what the loggers opened, once the run's files are written: status is completed,
    failed or interrupted (the words of `cnnkit.io.manifest.finish`). Other callbacks in
    `callbacks` are left alone."""
    for callback in callbacks:
        finish = getattr(callback, "finish_run", None)
        if finish is not None:
            finish(status)


@contextmanager
def run_loggers(run_path: Path, cfg: Any, resume: bool = False) -> Iterator[list[Any]]:
    """`build_loggers` for a `with` block holding the fit and the writing of the run's files;
    leaving it finishes the loggers as completed, interrupted (Ctrl-C) or failed."""
    callbacks = build_loggers(run_path, cfg, resume=resume)
    try:
        yield callbacks
    except BaseException as error:
        finish_loggers(callbacks, "interrupted" if isinstance(error, KeyboardInterrupt)
                       else "failed")
        raise
    finish_loggers(callbacks, "completed")
