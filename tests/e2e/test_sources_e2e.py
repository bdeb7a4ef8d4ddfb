"""Must-show 1 of issue 3: one image set through folder, csv, numpy and a local tfds dataset
trains the same model to the same validation accuracy (scripts/compare_sources.py, tiny)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_four_sources_of_one_image_set_train_to_the_same_val_accuracy(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "compare_sources.py"), "--n", "300", "--epochs",
         "2", "--batch-size", "8"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads(lines[-1][len("RESULT "):])
    accuracies = result["val_accuracy"]
    assert set(accuracies) == {"folder", "csv", "numpy", "tfds"}
    assert result["spread"] <= 0.05, accuracies
    assert min(accuracies.values()) > 0.5, accuracies  # it learned, far above 10 % chance
