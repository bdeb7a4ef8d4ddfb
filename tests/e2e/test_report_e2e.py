"""`cnnkit report` of a classification and a segmentation run renders every image in headless
Chromium without a console error; train and evaluate wrote the PNGs it embeds."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import cnnkit_executable
from tests.e2e.browser import render_counts

pytestmark = pytest.mark.slow

RUNS = {
    "classification": ["data=digits", "data.image_size=16", "data.max_samples=400",
                       "trainer.epochs=2"],
    "segmentation": ["conf=shapes_segmentation", "trainer.epochs=1", "data.num_train=64",
                     "data.num_val=16", "data.num_test=16"],
}


def cnnkit(*args: str, cwd) -> str:
    result = subprocess.run([*cnnkit_executable(), *args], cwd=cwd, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """Each kind of run trained, evaluated and reported once."""
    work = tmp_path_factory.mktemp("report")
    runs = {}
    for kind, overrides in RUNS.items():
        run = work / kind
        cnnkit("train", *overrides, f"hydra.run.dir={run}", cwd=work)
        cnnkit("evaluate", f"run={run}", cwd=work)
        cnnkit("report", f"run={run}", cwd=work)
        runs[kind] = run
    return work, runs


def test_train_and_evaluate_write_the_plots_of_each_task(reported):
    _, runs = reported
    names = {kind: sorted(p.name for p in (run / "plots").glob("*.png")) for kind, run in runs.items()}
    assert {"learning_curves.png", "learning_rate.png", "eval_test_confusion.png",
            "eval_test_roc.png", "eval_test_pr.png",
            "eval_test_reliability.png"} <= set(names["classification"])
    assert {"learning_curves.png", "eval_test_overlays.png",
            "eval_test_dice_per_image.png"} <= set(names["segmentation"])


@pytest.mark.parametrize("kind", sorted(RUNS))
def test_report_renders_every_image_in_chromium(reported, kind):
    work, runs = reported
    page = runs[kind] / "report.html"
    text = page.read_text()
    embedded = text.count("data:image/png;base64,")
    assert embedded == len(list((runs[kind] / "plots").glob("*.png"))) >= 3
    assert "src=\"http" not in text and "<link" not in text  # self-contained
    counts = render_counts(page, work)
    assert counts == {"IMAGES": embedded, "BROKEN": 0, "ERRORS": 0}


def test_the_probe_sees_a_broken_image(tmp_path):
    """The check can fail: a page with an undecodable PNG counts one broken image."""
    page = tmp_path / "bad" / "report.html"
    page.parent.mkdir()
    page.write_text('<!DOCTYPE html><html><head></head><body>'
                    '<img src="data:image/png;base64,AAAA"></body></html>')
    assert render_counts(page, tmp_path)["BROKEN"] == 1


def test_a_multirun_report_compares_the_runs_side_by_side(reported):
    work, runs = reported
    out = work / "both.html"
    cnnkit("report", f"run={runs['classification']},{runs['segmentation']}", f"output={out}",
           cwd=work)
    text = out.read_text()
    assert "Runs side by side" in text
    assert text.count("<section>") == 2
