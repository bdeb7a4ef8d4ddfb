"""Multi-label from a table, ChestX-ray14 style: `|`-separated findings (some `No Finding`) in
a CSV of PNG paths train in task.mode=multilabel (auto) and evaluate per class with AUROC."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.cli import main

pytestmark = pytest.mark.slow

FINDINGS = ("Cardiomegaly", "Effusion")


def write_findings(folder: Path, n: int = 60) -> Path:
    """16x16 PNGs: a bright top half for Cardiomegaly, a bright right half for Effusion."""
    rng = np.random.default_rng(0)
    (folder / "img").mkdir(parents=True)
    rows = []
    for i in range(n):
        on = (i % 2, (i // 2) % 2)
        image = rng.integers(0, 40, (16, 16), dtype=np.uint8)
        image[:8] += 150 * on[0]
        image[:, 8:] += 90 * on[1]
        Image.fromarray(image).save(folder / "img" / f"{i:05d}.png")
        labels = "|".join(name for name, flag in zip(FINDINGS, on, strict=True) if flag)
        rows.append(f"img/{i:05d}.png,{labels or 'No Finding'},{i // 3}")
    table = folder / "Data_Entry.csv"
    table.write_text("Image Index,Finding Labels,Patient ID\n" + "\n".join(rows) + "\n")
    return table


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """One tiny training on the table, then `cnnkit evaluate` of its test split."""
    folder = tmp_path_factory.mktemp("chest")
    table = write_findings(folder)
    run_dir = folder / "run"
    main(["train", "data=csv", f"data.path={table}", "data.path_column=Image Index",
          "data.label_column=Finding Labels", "data.label_separator=|",
          "data.negative_label=No Finding", "data.group_column=Patient ID", "data.test_fraction=0.3",
          "trainer.epochs=2", f"hydra.run.dir={run_dir}"])
    main(["evaluate", f"run={run_dir}"])
    return run_dir


def test_findings_train_as_multilabel_with_per_class_auroc(run):
    report = json.loads((run / "eval" / "test.json").read_text())
    assert report["class_names"] == list(FINDINGS)  # "No Finding" is no class
    for name in FINDINGS:
        scores = report["per_class"][name]
        assert 0.0 <= scores["auroc"] <= 1.0 and 0.0 <= scores["average_precision"] <= 1.0
        assert {"f1", "threshold", "support"} <= set(scores)
    assert report["auc"] == pytest.approx(np.mean([report["per_class"][n]["auroc"]
                                                   for n in FINDINGS]))
    assert "subset_accuracy" in report  # the multilabel report, not the single-label one
