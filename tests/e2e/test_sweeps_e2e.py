"""`cnnkit train -m hparams_search=optuna` end to end (skipped without the optuna extra)."""

import csv

import pytest
import yaml

from tests.extras import needs_optuna

pytestmark = [pytest.mark.slow, needs_optuna]


def test_optuna_search_runs_its_trials_and_optimises_the_monitor(cli, tmp_path):
    sweep = tmp_path / "sw"
    result = cli("train", "-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2",
                 "trainer.epochs=1", "data=digits", "data.max_samples=200",
                 f"hydra.sweep.dir={sweep}")
    with open(sweep / "trials.csv", newline="") as handle:
        trials = list(csv.DictReader(handle))
    assert [t["trial"] for t in trials] == ["0", "1"]
    assert all((sweep / t["trial"] / "metrics.json").is_file() for t in trials)
    assert all(t["data.batch_size"] in ("16", "32", "64") for t in trials)
    assert all(1e-4 <= float(t["optimizer.lr"]) <= 1e-1 for t in trials)
    # what Optuna was given back is each trial's val_loss: its best is the table's best
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    best = min(trials, key=lambda t: float(t["val_loss"]))
    assert results["best_value"] == pytest.approx(float(best["val_loss"]))
    assert best["best"] == "1"
    assert f"best: trial {best['trial']} (val_loss " in result.stdout
