"""Two MultiWorkerMirroredStrategy workers through `cnnkit train` on localhost: both finish, only
the chief writes the run directory, and both end with the same weights; the same on resume."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.cluster import run_workers, saved_arrays
from tests.conftest import cnnkit_executable

pytestmark = pytest.mark.slow

TIMEOUT = 600


def _train(work: Path, *args: str) -> None:
    command = [*cnnkit_executable(), "train", *args]
    # worker 1 keeps its folder ($CNNKIT_WORKER_DIR) so its weights can be compared
    workers = run_workers([command, command], work, TIMEOUT,
                          env={1: {"CNNKIT_WORKER_DIR": str(work / "worker1")}})
    for index, worker in enumerate(workers):
        assert worker.returncode == 0, f"worker {index} exited {worker.returncode}:\n{worker.output[-4000:]}"
    assert "worker 0 (chief) of 2 machines (MultiWorkerMirroredStrategy)" in workers[0].output
    assert "not the chief: this worker writes to" in workers[1].output


def _same_weights(first: Path, second: Path) -> None:
    ours, theirs = saved_arrays(first), saved_arrays(second)
    assert ours.keys() == theirs.keys()
    different = [name for name in ours if not np.array_equal(ours[name], theirs[name])]
    assert not different, f"the workers' weights differ in {different}"


def _epochs(run: Path) -> int:
    with open(run / "history.csv", newline="") as handle:
        return len(list(csv.DictReader(handle)))


def test_two_workers_train_one_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "mw"
    _train(tmp_path, "data=digits", "trainer.epochs=2", "trainer.distribute=multi_worker",
           f"hydra.run.dir={run}")
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("model.keras")] == [
        Path("mw/model.keras"), Path("worker1/model.keras")]
    assert (tmp_path / "worker1" / ".hydra").is_dir()  # Hydra ran in the worker's own folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mw", "worker1"]
    _same_weights(run / "model.keras", tmp_path / "worker1" / "model.keras")
    assert _epochs(run) == 2

    # both continue from the chief's saved state
    _train(tmp_path, f"resume={run}", "allow_changes=[trainer.epochs]", "trainer.epochs=3")
    assert _epochs(run) == 3
    _same_weights(run / "model.keras", tmp_path / "worker1" / "model.keras")
