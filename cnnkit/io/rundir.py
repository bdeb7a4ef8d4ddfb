"""The run directory: its layout, atomic writes, and loading a finished run back.

Layout: config.yaml (resolved), preprocessing.json, task.json (what the task learned, if
anything), model.keras, checkpoints/, history.csv, metrics.json, eval/<split>.json, plots/,
samples/ (generative tasks: one grid per epoch), and what report and export add (report.html,
export/). Every file is written to a temporary name in the same folder
and renamed into place, so an interrupted run never leaves a half-written artefact.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnkit.errors import RunDirError

CONFIG = "config.yaml"
PREPROCESSING = "preprocessing.json"
MODEL = "model.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"
TASK_STATE = "task.json"  # what a task learns from the training split (e.g. target mean/std)
CHECKPOINTS = "checkpoints"
BEST_CHECKPOINT = "checkpoints/best.keras"
BACKUP = "checkpoints/backup"  # Keras BackupAndRestore, in runs of cnnkit before 0.2
EVAL = "eval"
MANIFEST = "manifest.json"
TENSORBOARD = "tensorboard"
PLOTS = "plots"  # PNGs of train (learning curves) and evaluate (per split)
REPORT = "report.html"  # `cnnkit report`
EXPORT = "export"  # `cnnkit export`'s default folder
SAMPLES = "samples"  # generative tasks: samples/epoch_NNN.png, one grid per epoch
PLAN = "plan.yaml"  # what the plan chose (model=auto), written before training starts
#: everything `cnnkit train` writes into a run directory (`.hydra/` is Hydra's own)
ARTEFACTS = (CONFIG, PREPROCESSING, MODEL, HISTORY, METRICS, TASK_STATE, CHECKPOINTS, EVAL,
             MANIFEST, TENSORBOARD, PLOTS, REPORT, EXPORT, SAMPLES, PLAN)


def run_status(path: Path) -> str:
    """"new" (absent, empty or only Hydra's `.hydra/` and the plan), "finished" (has its model and metrics),
    "interrupted" (training began: a saved state or history, but no metrics) or "other" (a folder
    of something else, which training must not write into)."""
    path = Path(path)
    if not path.is_dir() or all(p.name in (".hydra", PLAN) for p in path.iterdir()):
        return "new"
    if (path / METRICS).is_file() and (path / MODEL).is_file():
        return "finished"
    if (path / CHECKPOINTS).is_dir() or (path / HISTORY).is_file() or (path / CONFIG).is_file():
        return "interrupted"
    return "other"


def clear_run(path: Path) -> None:
    """Remove what a previous run wrote into `path` (for `overwrite=true`), nothing else."""
    import shutil

    for name in ARTEFACTS:
        target = Path(path) / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` for a temporary sibling of `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the full name as suffix: Keras insists on `.keras` and `.weights.h5` endings
    fd, tmp_name = tempfile.mkstemp(prefix=".", suffix=f".{path.name}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def write_json(path: Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def save_model(model: Any, path: Path) -> Path:
    return atomic_write(path, lambda tmp: model.save(tmp))


def write_task_state(run_path: Path, state: dict[str, Any]) -> None:
    """Save a task's `state` beside the model; a task that learned nothing writes no file."""
    if state:
        write_json(Path(run_path) / TASK_STATE, state)


def read_task_state(run_path: Path) -> dict[str, Any]:
    """What `write_task_state` saved, or {} when the task learned nothing."""
    path = Path(run_path) / TASK_STATE
    return json.loads(path.read_text()) if path.is_file() else {}


@dataclass
class RunDir:
    """A run directory, written by `train` and read by evaluate/predict."""

    path: Path

    def file(self, name: str) -> Path:
        return self.path / name

    @classmethod
    def open(cls, path: str | Path, key: str = "run") -> RunDir:
        """An existing, complete run directory, or a clear error naming what is missing."""
        run = cls(Path(path).expanduser())
        if not run.path.is_dir():
            raise RunDirError(
                f"`{key}={path}`: no such run directory. "
                "Expected a directory written by `cnnkit train` (it prints its path at the end)."
            )
        missing = [n for n in (CONFIG, PREPROCESSING, MODEL) if not run.file(n).is_file()]
        if missing:
            raise RunDirError(
                f"`{key}={path}` is not a finished run: missing {', '.join(missing)}. "
                "Expected a directory written by a completed `cnnkit train`."
            )
        return run

    def load_config(self) -> Any:
        """The run's resolved config, upgraded to the current schema (`config.migrate`)."""
        from omegaconf import OmegaConf

        from cnnkit.config.migrate import migrate

        values = OmegaConf.to_container(OmegaConf.load(self.file(CONFIG)))
        return OmegaConf.create(migrate(values, str(self.file(CONFIG))))

    def load_preprocessing(self) -> Any:
        from cnnkit.data.pipeline import Preprocessing

        return Preprocessing.from_dict(json.loads(self.file(PREPROCESSING).read_text()))

    def load_model(self) -> Any:
        import keras

        import cnnkit.models.layers  # noqa: F401  (registers cnnkit's own layers for loading)
        from cnnkit.models import adversarial, variational  # noqa: F401  (and the models of gan, vae)
        from cnnkit.tasks import register_keras_objects

        register_keras_objects()  # and the tasks' losses and metrics, so any run reloads

        try:
            return keras.models.load_model(self.file(MODEL))
        except Exception as exc:  # corrupt or foreign file
            raise RunDirError(f"`{self.file(MODEL)}` cannot be loaded as a Keras model: {exc}") from exc
