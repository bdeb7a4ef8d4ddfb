"""Where a worker that is not the chief writes (no TensorFlow needed)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from cnnkit.commands.workers import WORKER_DIR_ENV, worker_folder


def _tf_config(index: int) -> str:
    return json.dumps({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": index}})


def test_the_chief_and_single_runs_write_the_run_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_CONFIG", _tf_config(0))
    assert worker_folder("multi_worker") is None
    monkeypatch.setenv("TF_CONFIG", _tf_config(1))
    assert worker_folder("none") is None  # TF_CONFIG set, but this run trains alone


def test_another_worker_gets_a_temporary_folder_removed_at_the_end(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TF_CONFIG", _tf_config(1))
    monkeypatch.delenv(WORKER_DIR_ENV, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = worker_folder("auto")
    assert folder is not None and folder.temporary and folder.path.parent == tmp_path
    assert folder.redirect(["trainer.epochs=2", "hydra.run.dir=runs/x", "-m"]) == [
        "trainer.epochs=2", "-m", f"hydra.run.dir='{folder.path}'", f"hydra.sweep.dir='{folder.path}'"]
    (folder.path / "model.keras").write_text("x")
    folder.remove()
    assert list(tmp_path.iterdir()) == []


def test_cnnkit_worker_dir_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TF_CONFIG", _tf_config(1))
    monkeypatch.setenv(WORKER_DIR_ENV, str(tmp_path / "w1"))
    folder = worker_folder("multi_worker")
    assert folder is not None and folder.path == tmp_path / "w1" and not folder.temporary
    folder.path.mkdir()
    folder.remove()
    assert folder.path.is_dir()
