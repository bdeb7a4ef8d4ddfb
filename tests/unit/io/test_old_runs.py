"""Run directories written before config schema versions existed still evaluate, predict and
resume (fixtures in tests/fixtures/rundir_v1, see its README)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.commands import evaluate, predict
from cnnkit.config.migrate import migrate
from cnnkit.config.schema import SCHEMA_VERSION
from cnnkit.errors import ConfigError
from cnnkit.io.rundir import RunDir

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rundir_v1"


@pytest.fixture
def old_run(tmp_path) -> Path:
    return Path(shutil.copytree(FIXTURES / "finished", tmp_path / "finished"))


def test_old_config_is_migrated_to_the_current_schema(old_run) -> None:
    assert "schema_version" not in OmegaConf.load(old_run / "config.yaml")
    assert RunDir.open(old_run).load_config().schema_version == SCHEMA_VERSION


def test_a_newer_schema_is_refused_with_a_clear_line() -> None:
    with pytest.raises(ConfigError, match=r"written by a newer cnnkit"):
        migrate({"schema_version": SCHEMA_VERSION + 1})


def test_old_run_still_evaluates_and_predicts(old_run, tmp_path) -> None:
    report = evaluate.run([f"run={old_run}", "data.split=test"])
    assert 0.0 <= report["accuracy"] <= 1.0 and (old_run / "eval" / "test.json").is_file()
    digits = np.random.default_rng(0).integers(0, 17, (5, 8, 8)).astype("float32")
    np.save(tmp_path / "x.npy", digits)
    predict.run([f"run={old_run}", f"input={tmp_path / 'x.npy'}", f"output={tmp_path / 'p.csv'}"])
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert len(rows) == 5 and {"id", "prediction"} <= set(rows[0])


@pytest.mark.slow
def test_interrupted_old_run_resumes(cli, tmp_path) -> None:
    """Its Keras BackupAndRestore files are the state: epoch 3 of 3 runs, the history keeps 1-2."""
    run = shutil.copytree(FIXTURES / "interrupted", tmp_path / "interrupted")
    refused = cli("train", f"hydra.run.dir={run}", check=False)
    assert refused.returncode == 2 and f"cnnkit train resume={run}" in refused.stderr
    cli("train", f"resume={run}")
    assert (run / "model.keras").is_file() and (run / "metrics.json").is_file()
    assert [row["epoch"] for row in csv.DictReader((run / "history.csv").open())] == ["1", "2", "3"]
    assert OmegaConf.load(run / "config.yaml").schema_version == SCHEMA_VERSION
