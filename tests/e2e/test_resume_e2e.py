"""Resuming through the CLI as a user meets it: kill -9 in epoch 3 of 5, `cnnkit train
resume=RUN`, and the run ends bit-identical to an uninterrupted one; the run-directory rules."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.conftest import cnnkit_executable

pytestmark = pytest.mark.slow
ARGS = ["data=digits", "data.image_size=16", "data.batch_size=8", "trainer.epochs=5",
        "trainer.deterministic=true", "seed=3", "augment=light"]


def rows(run: Path) -> int:
    path = run / "history.csv"
    return len(list(csv.DictReader(path.open()))) if path.is_file() else 0


def start(run: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*cnnkit_executable(), "train", *ARGS, *extra, f"hydra.run.dir={run}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_during_epoch(run: Path, process: subprocess.Popen, epoch: int, sig: int) -> None:
    deadline = time.monotonic() + 300
    while rows(run) < epoch - 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(sig)
    process.wait(timeout=60)
    assert epoch - 1 <= rows(run) < 5, f"not stopped during epoch {epoch}: {process.stdout.read()}"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("resume") / "whole"
    assert start(run).wait(timeout=600) == 0
    return run


def test_kill_9_in_epoch_3_then_resume_is_bit_identical(uninterrupted, cli, tmp_path):
    run = tmp_path / "killed"
    stop_during_epoch(run, start(run), epoch=3, sig=signal.SIGKILL)
    again = cli("train", *ARGS, f"hydra.run.dir={run}", check=False)  # the same command again
    assert again.returncode == 2 and f"cnnkit train resume={run}" in again.stderr
    resumed = cli("train", f"resume={run}")
    assert "resuming after epoch" in resumed.stdout
    a = keras.models.load_model(uninterrupted / "model.keras").get_weights()
    b = keras.models.load_model(run / "model.keras").get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert rows(run) == 5
    assert json.loads((run / "metrics.json").read_text()) == json.loads(
        (uninterrupted / "metrics.json").read_text())


def test_sigterm_prints_the_command_that_resumes(tmp_path):
    run = tmp_path / "stopped"
    process = start(run)
    stop_during_epoch(run, process, epoch=2, sig=signal.SIGTERM)
    output = process.stdout.read()
    assert process.returncode == 130 and f"cnnkit train resume={run}" in output


def test_resume_refuses_changed_keys_unless_allowed_and_trains_a_finished_run_longer(
        uninterrupted, cli, tmp_path):
    run = Path(tmp_path / "longer")
    import shutil

    shutil.copytree(uninterrupted, run)
    refused = cli("train", f"resume={run}", "trainer.epochs=6", "optimizer.lr=0.1", check=False)
    assert refused.returncode == 2 and "optimizer.lr, trainer.epochs" in refused.stderr
    cli("train", f"resume={run}", "allow_changes=[trainer.epochs]", "trainer.epochs=6")
    assert rows(run) == 6 and json.loads((run / "metrics.json").read_text())["epochs_run"] == 6


def test_overwrite_clears_the_old_run_and_a_failed_start_leaves_no_folder(cli, tmp_path):
    run = tmp_path / "run"
    cli("train", "trainer.epochs=1", "data.max_samples=200", f"hydra.run.dir={run}")
    (run / "eval").mkdir()
    (run / "eval" / "old.json").write_text("{}")
    cli("train", "trainer.epochs=1", "data.max_samples=200", f"hydra.run.dir={run}", "overwrite=true")
    assert not (run / "eval").exists() and (run / "model.keras").is_file()
    failed = cli("train", "trainer.monitor=val_acuracy", "trainer.epochs=3",  # after epoch 1
                 "data.max_samples=200", check=False)
    assert failed.returncode == 2 and "Did you mean: val_accuracy" in failed.stderr
    assert not list((tmp_path / "outputs").rglob("*.hydra")), "a failed start left its folder"
