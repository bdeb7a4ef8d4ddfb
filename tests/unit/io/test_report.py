"""report.html: self-contained (base64 PNGs), metrics with intervals, runs side by side."""

import json

import numpy as np

from cnnkit.io.report import write_report
from cnnkit.io.run_plots import plot_history


def fake_run(path, accuracy):
    (path / "eval").mkdir(parents=True)
    (path / "config.yaml").write_text("model:\n  kind: spec\n")
    (path / "metrics.json").write_text(json.dumps({"val_accuracy": accuracy, "epoch": 2}))
    (path / "eval" / "test.json").write_text(json.dumps(
        {"accuracy": accuracy, "ci95": {"accuracy": [accuracy - 0.03, accuracy + 0.03]}}))
    rows = [{"epoch": 1, "loss": 1.0, "val_loss": 1.1, "learning_rate": 1e-3},
            {"epoch": 2, "loss": 0.5, "val_loss": 0.7, "learning_rate": 5e-4}]
    return plot_history(rows, path / "plots", best_epoch=2)


def test_a_run_report_embeds_its_plots_and_intervals(tmp_path):
    written = fake_run(tmp_path / "run", 0.9)
    assert [p.name for p in written] == ["learning_curves.png", "learning_rate.png"]
    page = write_report([tmp_path / "run"], tmp_path / "run" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "[0.8700, 0.9300]" in page and "Runs side by side" not in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")


def test_several_runs_get_a_comparison_table(tmp_path):
    for i, accuracy in enumerate((0.8, 0.9)):
        fake_run(tmp_path / str(i), accuracy)
    page = write_report([tmp_path / "0", tmp_path / "1"], tmp_path / "report.html").read_text()
    table = page[page.index("Runs side by side"):page.index("<section>")]
    assert "0.8000" in table and "0.9000" in table
    assert np.sum([page.count(f"<h2>{i}</h2>") for i in "01"]) == 2
