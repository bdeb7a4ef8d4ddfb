"""`cnnkit export`: ONNX, TFLite and SavedModel files of a digits run take the raw 0-16 digits
and give the classes `cnnkit predict` gives on all 1,797 of them, float parity within 1e-4."""

from __future__ import annotations

import csv
import json
import subprocess

import numpy as np
import pytest

from cnnkit.errors import ConfigError
from tests.conftest import cnnkit_executable

pytestmark = pytest.mark.slow


def classes(path) -> list[str]:
    with open(path, newline="") as handle:
        return [row["prediction"] for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A tiny digits run (16x16 input: the export resizes), all 1,797 raw digits and what
    `cnnkit predict` makes of them."""
    from sklearn.datasets import load_digits

    from cnnkit.commands.predict import run as predict

    work = tmp_path_factory.mktemp("export")
    run = work / "run"
    result = subprocess.run([*cnnkit_executable(), "train", "data=digits", "data.image_size=16",
                             "trainer.epochs=2", f"hydra.run.dir={run}"], cwd=work,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    np.save(work / "x.npy", load_digits().images)  # N x 8 x 8, no channel axis, values 0-16
    predict([f"run={run}", f"input={work / 'x.npy'}", f"output={work / 'keras.csv'}"])
    return work, run, classes(work / "keras.csv")


@pytest.mark.parametrize("fmt", ["onnx", "tflite", "savedmodel"])
def test_export_gives_the_classes_of_predict_on_every_digit(digits_run, fmt):
    from cnnkit.commands.export import run as export
    from cnnkit.commands.predict import run as predict
    from cnnkit.export.runtime import load_exported

    work, run, want = digits_run
    result = export([f"run={run}", f"format={fmt}", f"output={work / fmt}"])
    assert result["within_tolerance"] and result["max_abs_diff"] <= 1e-4
    stored = json.loads((work / fmt / "parity.json").read_text())
    assert stored[result["file"].rsplit("/", 1)[-1]]["max_abs_diff"] == result["max_abs_diff"]

    exported = load_exported(result["file"])
    raw = np.load(work / "x.npy").astype("float32")[..., None]
    probs = exported.predict(raw)
    assert probs.shape == (1797, 10)
    assert [str(c) for c in probs.argmax(-1)] == want

    predict([f"run={run}", f"input={work / 'x.npy'}", f"output={work / f'{fmt}.csv'}",
             f"exported={result['file']}"])
    assert classes(work / f"{fmt}.csv") == want
    with open(work / "keras.csv") as a, open(work / f"{fmt}.csv") as b:
        keras_rows, export_rows = list(csv.reader(a))[1:], list(csv.reader(b))[1:]
    diff = np.abs(np.array([r[2:] for r in keras_rows], float)
                  - np.array([r[2:] for r in export_rows], float))
    assert diff.max() <= 1e-4  # every probability of every digit, as written


def test_int8_tflite_reports_its_accuracy_change(digits_run):
    from cnnkit.commands.export import run as export

    work, run, _ = digits_run
    result = export([f"run={run}", "format=tflite", "quantize=int8", f"output={work / 'q'}"])
    assert result["file"].endswith("model_int8.tflite")
    assert result["samples"] == 270  # the whole validation split
    assert abs(result["accuracy_change"]) < 0.05
    assert result["accuracy_keras"] > 0.5 and result["argmax_agreement"] > 0.9


def test_quantize_applies_to_tflite_only(digits_run):
    from cnnkit.commands.export import run as export

    work, run, _ = digits_run
    with pytest.raises(ConfigError, match="quantize=int8` applies to format=tflite"):
        export([f"run={run}", "format=onnx", "quantize=int8", f"output={work / 'x'}"])
    with pytest.raises(ConfigError, match="Did you mean: onnx"):
        export([f"run={run}", "format=onx"])
