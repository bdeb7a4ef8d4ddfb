"""A run with a schedule, warm-up, EMA and accumulation logs the rates it used and reloads."""

import csv
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_step_schedule_with_ema_and_accumulation_trains_logs_and_evaluates(cli, tmp_path):
    run = tmp_path / "run"
    cli("train", "trainer.epochs=3", "data.max_samples=400", "optimizer=sgd", "optimizer.lr=0.1",
        "optimizer.schedule=step",
        "optimizer.step_epochs=1", "optimizer.gamma=0.5", "trainer.ema=0.99",
        "trainer.accumulate_steps=2", "optimizer.clipvalue=1", f"hydra.run.dir={run}")
    with open(run / "history.csv", newline="") as handle:
        logged = [float(row["learning_rate"]) for row in csv.DictReader(handle)]
    assert logged == pytest.approx([0.1, 0.05, 0.025])  # each epoch's own rate (its last step)
    cli("evaluate", f"run={run}", "data.split=test")  # model.keras reloads with its optimizer
    assert 0 <= json.loads((run / "eval" / "test.json").read_text())["accuracy"] <= 1
    plain = subprocess.run(  # and with plain Keras, cnnkit not imported
        [sys.executable, "-W", "error::UserWarning", "-c", "import keras; "
         f"print(keras.models.load_model({str(run / 'model.keras')!r}).optimizer.name)"],
        capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0 and plain.stdout.strip() == "sgd", plain.stderr[-500:]
