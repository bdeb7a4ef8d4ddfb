"""The trials table and trials.csv, built from fake sweep directories (no training)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf
from rich.console import Console

from cnnkit.commands.sweep_table import (
    SUMMARY_CSV,
    TRIALS_CSV,
    Sweep,
    TrialsTable,
    best_line,
    csv_text,
    read_trials,
    render,
    spreads,
)
from cnnkit.commands.sweeps import FAILED


def trial(sweep: Path, name: str, overrides: list[str] | None, metrics: dict | None = None,
          failed: dict | None = None) -> None:
    path = sweep / name
    path.mkdir(parents=True)
    if overrides is not None:
        (path / ".hydra").mkdir()
        (path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if metrics is not None:
        (path / "metrics.json").write_text(json.dumps(metrics))
    if failed is not None:
        (path / FAILED).write_text(json.dumps(failed))


def metrics(val_loss: float, val_accuracy: float) -> dict:
    return {"loss": val_loss + 0.1, "accuracy": val_accuracy - 0.05, "val_loss": val_loss,
            "val_accuracy": val_accuracy, "epoch": 1, "epochs_run": 1, "monitor": "val_loss"}


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """Four trials as Hydra lays them out (10 sorts after 2), one failed, plus non-trial files."""
    sweep = tmp_path / "sweep"
    trial(sweep, "0", ["++optimizer.lr=0.001", "++trainer.epochs=1"], metrics(0.50, 0.80))
    trial(sweep, "1", ["++optimizer.lr=0.01", "++trainer.epochs=1"], metrics(0.21, 0.93))
    trial(sweep, "2", ["++optimizer.lr=0.1", "++trainer.epochs=1"],
          failed={"error": "`trainer.monitor` names a metric training does not log.",
                  "type": "ConfigError", "overrides": ["++optimizer.lr=0.1"]})
    trial(sweep, "10", ["++optimizer.lr=0.0031622776601683794", "++trainer.epochs=1"],
          metrics(0.35, 0.95))
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    (sweep / ".submitit").mkdir()  # a launcher's own folder: not a trial
    return sweep


def test_trials_are_read_in_job_order_with_failures(sweep_dir):
    trials = read_trials(sweep_dir)
    assert [t.name for t in trials] == ["0", "1", "2", "10"]
    assert [t.failed for t in trials] == [False, False, True, False]
    assert trials[0].overrides == {"optimizer.lr": "0.001", "trainer.epochs": "1"}
    assert trials[2].error.startswith("`trainer.monitor` names a metric")


def test_a_trial_that_left_no_metrics_counts_as_failed(tmp_path):
    trial(tmp_path, "0", ["optimizer.lr=0.1"])  # Hydra made the folder; the trial was killed
    trial(tmp_path, "1", None, failed={"error": "boom", "overrides": ["optimizer.lr=0.2"]})
    killed, recorded = read_trials(tmp_path)
    assert killed.failed and "without metrics.json" in killed.error
    assert recorded.overrides == {"optimizer.lr": "0.2"} and recorded.error == "boom"


def test_best_follows_the_monitor_direction(sweep_dir):
    trials = read_trials(sweep_dir)
    assert Sweep(trials, "val_loss", "min").best.name == "1"
    assert Sweep(trials, "val_accuracy", "max").best.name == "10"
    assert Sweep([t for t in trials if t.failed], "val_loss", "min").best is None


def test_columns_split_varying_and_shared_overrides(sweep_dir):
    sweep = Sweep(read_trials(sweep_dir), "val_loss", "min")
    assert sweep.varying == ["optimizer.lr"]
    assert sweep.constant == ["trainer.epochs=1"]
    assert sweep.metric_keys[:3] == ["val_loss", "val_accuracy", "loss"]  # monitor, then val_*
    assert "monitor" not in sweep.metric_keys


def test_csv_has_one_row_per_trial_and_marks_the_best(sweep_dir):
    sweep = Sweep(read_trials(sweep_dir), "val_loss", "min")
    rows = list(csv.DictReader(io.StringIO(csv_text(sweep))))
    assert [r["trial"] for r in rows] == ["0", "1", "2", "10"]
    assert [r["status"] for r in rows] == ["ok", "ok", "failed", "ok"]
    assert [r["best"] for r in rows] == ["0", "1", "0", "0"]
    assert rows[3]["optimizer.lr"] == "0.0031622776601683794"  # the exact value, to reuse
    assert float(rows[1]["val_loss"]) == 0.21 and rows[2]["val_loss"] == ""
    assert "does not log" in rows[2]["error"]


def test_table_names_the_best_trial_and_the_failure(sweep_dir):
    sweep = Sweep(read_trials(sweep_dir), "val_loss", "min")
    assert best_line(sweep).startswith("best: trial 1 (val_loss 0.2100) optimizer.lr=0.01 → ")
    out = Console(record=True, width=200)
    render(sweep, out)
    text = out.export_text()
    assert "4 trials, 1 failed" in text and "same in every trial: trainer.epochs=1" in text
    assert "1 *" in text and "0.003162" in text  # best marked; long floats shortened
    assert "trial 2 failed: `trainer.monitor` names a metric" in text


def callback_config(sweep: Path) -> object:
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}},
                             "trainer": {"monitor": "val_loss", "monitor_mode": "min"}})


def test_callback_writes_trials_csv_and_exits_1_when_a_trial_failed(sweep_dir, capsys):
    with pytest.raises(SystemExit) as stop:
        TrialsTable().on_multirun_end(config=callback_config(sweep_dir))
    assert stop.value.code == 1
    assert (sweep_dir / TRIALS_CSV).read_text() == csv_text(
        Sweep(read_trials(sweep_dir), "val_loss", "min"))
    assert "best: trial 1" in capsys.readouterr().out


def test_callback_on_a_clean_sweep_returns(tmp_path, capsys):
    trial(tmp_path, "0", ["optimizer.lr=0.1"], metrics(0.4, 0.9))
    TrialsTable().on_multirun_end(config=callback_config(tmp_path))
    assert (tmp_path / TRIALS_CSV).is_file()
    assert "best: trial 0 (val_loss 0.4000)" in capsys.readouterr().out


def test_mean_and_std_over_the_finished_trials(sweep_dir):
    """A cross-validation's result: mean ± sample std of each metric, failed trials left out."""
    sweep = Sweep(read_trials(sweep_dir), "val_loss", "min")
    spread = spreads(sweep)["val_accuracy"]  # 0.80, 0.93, 0.95 (trial 2 failed)
    assert spread.count == 3 and spread.mean == pytest.approx(0.8933333)
    assert spread.std == pytest.approx(0.0814453, rel=1e-5)
    out = Console(record=True, width=250)
    render(sweep, out)
    text = out.export_text()
    mean = next(line for line in text.splitlines() if "│  mean │" in line)
    std = next(line for line in text.splitlines() if "± std" in line)
    assert "0.8933" in mean and "0.0814" in std
    with pytest.raises(SystemExit):
        TrialsTable().on_multirun_end(config=callback_config(sweep_dir))
    rows = list(csv.DictReader(io.StringIO((sweep_dir / SUMMARY_CSV).read_text())))
    assert rows[0]["metric"] == "val_loss" and float(rows[0]["mean"]) == pytest.approx(0.3533333)
    assert {r["n"] for r in rows} == {"3"}


def test_one_trial_has_no_spread(tmp_path):
    trial(tmp_path, "0", ["optimizer.lr=0.1"], metrics(0.4, 0.9))
    TrialsTable().on_multirun_end(config=callback_config(tmp_path))
    assert not (tmp_path / SUMMARY_CSV).exists()
