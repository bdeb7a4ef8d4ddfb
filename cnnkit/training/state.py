"""A run's complete training state, saved atomically after every epoch and read back to resume.

`checkpoints/state.json` names the epoch it belongs to and its weights file
(`checkpoints/epoch-NNNN.weights.h5`: the model's weights and every optimizer variable: step
count, slots, EMA averages, gradient accumulators, a plateau-lowered learning rate). The weights
are written first and the JSON second, each atomically, and an older weights file is deleted only
after the JSON that replaced it, so a kill at any instant leaves a consistent pair. What is not in
there needs no saving: each epoch's data order and layer random streams derive from (seed, epoch).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cnnkit.errors import RunDirError
from cnnkit.io import rundir

STATE = "checkpoints/state.json"
STATE_VERSION = 1


@dataclass
class TrainingState:
    """What a resumed run continues from."""

    epoch: int  # epochs completed
    phase: int = 0  # fine-tuning phase the weights file's optimizer belongs to
    weights: str | None = None  # relative to the run directory; None: nothing to load
    callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    stopped: str | None = None  # early_stopping | max_time: training had already ended
    version: int = STATE_VERSION

    def load_into(self, run_path: Path, model: Any, phase: int) -> None:
        """Weights, and optimizer variables when the optimizer is the same phase's."""
        if self.weights is None:
            return
        path = Path(run_path) / self.weights
        if not path.is_file():
            raise RunDirError(f"`{path}` is missing: the run's saved state cannot be resumed.")
        same_optimizer = phase == self.phase
        if same_optimizer:
            model.optimizer.build(model.trainable_variables)  # slots exist before loading
        try:
            model.load_weights(path, objects_to_skip=None if same_optimizer else [model.optimizer])
        except Exception as exc:  # a foreign or truncated file
            raise RunDirError(f"`{path}` cannot be loaded into this run's model: {exc}") from exc


def save_state(run_path: Path, model: Any, state: TrainingState) -> None:
    """Write `state` with its weights file (epoch-tagged) and then drop the previous one."""
    run_path = Path(run_path)
    state.weights = f"{rundir.CHECKPOINTS}/epoch-{state.epoch:04d}.weights.h5"
    rundir.atomic_write(run_path / state.weights, model.save_weights)
    previous = read_state(run_path)
    rundir.write_json(run_path / STATE, asdict(state))
    if previous and previous.weights and previous.weights != state.weights:
        (run_path / previous.weights).unlink(missing_ok=True)


def read_state(run_path: Path) -> TrainingState | None:
    """The saved state, a legacy Keras BackupAndRestore state converted, or None."""
    path = Path(run_path) / STATE
    if path.is_file():
        try:
            return TrainingState(**json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as exc:
            raise RunDirError(f"`{path}` is not a cnnkit training state ({exc}).") from exc
    return _legacy_state(Path(run_path))


def _legacy_state(run_path: Path) -> TrainingState | None:
    """Runs written before cnnkit saved its own state kept Keras' BackupAndRestore files and
    history.csv: weights and optimizer from the former, the epochs' logs from the latter."""
    import csv

    backup = run_path / rundir.BACKUP
    meta = backup / "training_metadata.json"
    if not meta.is_file():
        return None
    epoch = int(json.loads(meta.read_text()).get("epoch", 0))
    history = run_path / rundir.HISTORY
    rows = []
    if history.is_file():
        rows = [{k: float(v) for k, v in row.items() if v != ""}
                for row in csv.DictReader(history.open())]
        rows = [{**r, "epoch": int(r["epoch"])} for r in rows if r.get("epoch", 0) <= epoch]
    return TrainingState(epoch, 0, f"{rundir.BACKUP}/latest.weights.h5",
                         {"HistoryWriter": {"rows": rows}})
