"""`cnnkit train -m data.fold=...`: a k-fold cross-validation whose table ends in mean ± std."""

from __future__ import annotations

import csv
import json

import pytest

pytestmark = pytest.mark.slow


def test_a_fold_sweep_is_a_cross_validation_with_mean_and_std(cli, tmp_path):
    sweep = tmp_path / "cv"
    result = cli("train", "-m", "data.folds=3", "data.fold=0,1,2", "trainer.epochs=1",
                 "data.max_samples=150", "data.test_fraction=0", f"hydra.sweep.dir={sweep}")
    lines = result.stdout.splitlines()
    assert any("mean" in line for line in lines) and any("± std" in line for line in lines)
    rows = {r["metric"]: r for r in csv.DictReader((sweep / "trials_summary.csv").open())}
    accuracies = [json.loads((sweep / str(k) / "metrics.json").read_text())["val_accuracy"]
                  for k in range(3)]
    assert float(rows["val_accuracy"]["mean"]) == pytest.approx(sum(accuracies) / 3)
    assert rows["val_accuracy"]["n"] == "3"
