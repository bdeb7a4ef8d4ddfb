"""CSV regression end to end: outputs, metrics and predictions are named after
`data.target_columns`, and `evaluate`/`predict` read the names back from the run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """Discs of known radius and brightness, one tiny training, evaluate and predict."""
    folder = tmp_path_factory.mktemp("discs")
    (folder / "img").mkdir()
    rng = np.random.default_rng(0)
    rows, yy, xx = [], *np.mgrid[:16, :16]
    for i in range(40):
        radius, brightness = rng.uniform(2, 7), rng.uniform(60, 250)
        disc = ((yy - 8) ** 2 + (xx - 8) ** 2 <= radius ** 2) * brightness
        Image.fromarray(disc.astype(np.uint8)).save(folder / "img" / f"{i}.png")
        rows.append(f"img/{i}.png,{radius:.3f},{brightness:.1f}")
    table = folder / "discs.csv"
    table.write_text("path,radius,brightness\n" + "\n".join(rows) + "\n")
    run_dir = folder / "run"
    main(["train", "data=csv", f"data.path={table}", "data.target_columns=[radius,brightness]",
          "task=regression", "trainer.epochs=1", f"hydra.run.dir={run_dir}"])
    main(["evaluate", f"run={run_dir}"])
    main(["predict", f"run={run_dir}", f"input={folder / 'img'}",
          f"output={folder / 'predictions.csv'}"])
    return run_dir


def test_metrics_and_predictions_are_named_after_the_target_columns(run):
    assert json.loads((run / "task.json").read_text())["output_names"] == ["radius", "brightness"]
    report = json.loads((run / "eval" / "test.json").read_text())
    assert report["output_names"] == ["radius", "brightness"]
    assert {"mae/radius", "rmse/brightness", "r2/radius"} <= set(report)
    assert not any(key.endswith("output_0") for key in report)
    with (run.parent / "predictions.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "radius", "brightness"] and len(rows) == 41
