"""A run with a schedule, warm-up, EMA and accumulation logs the rates it used and reloads."""

import csv
import json

import pytest

pytestmark = pytest.mark.slow


def test_step_schedule_with_ema_and_accumulation_trains_logs_and_evaluates(cli, tmp_path):
    run = tmp_path / "run"
    cli("train", "trainer.epochs=3", "optimizer=sgd", "optimizer.lr=0.1", "optimizer.schedule=step",
        "optimizer.step_epochs=1", "optimizer.gamma=0.5", "trainer.ema=0.99",
        "trainer.accumulate_steps=2", "optimizer.clipvalue=1", f"hydra.run.dir={run}")
    with open(run / "history.csv", newline="") as handle:
        logged = [float(row["learning_rate"]) for row in csv.DictReader(handle)]
    # Keras logs the rate at the end of each epoch: the first step of the next, one drop later
    assert logged == pytest.approx([0.05, 0.025, 0.0125])
    cli("evaluate", f"run={run}", "data.split=test")  # model.keras reloads with its optimizer
    assert 0 <= json.loads((run / "eval" / "test.json").read_text())["accuracy"] <= 1
