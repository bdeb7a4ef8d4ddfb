"""Generative runs through the CLI: a tiny conditional GAN and a tiny VAE train one epoch, write
their epoch grid and both networks' losses, and `cnnkit sample` draws from them (a grid, an
array in the data's raw form, a folder); evaluate scores GAN samples in a classifier's feature
space; a GAN stopped after epoch 1 resumes to the same end as an uninterrupted run."""

from __future__ import annotations

import csv
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import cnnkit_executable

pytestmark = pytest.mark.slow
TINY = ["data=shapes", "data.num_train=64", "data.num_val=16", "data.num_test=32",
        "data.batch_size=16", "trainer.epochs=1"]
GAN = [*TINY, "task=gan", "model=dcgan", "model.base_filters=8", "task.conditional=true",
       "task.loss=hinge", "model.spectral_norm=true", "trainer.ema=0.9",
       "trainer.monitor=val_g_loss", "trainer.restore_best=false"]


def cnnkit(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([*cnnkit_executable(), *args], cwd=cwd, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"cnnkit {' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


def history(run: Path) -> list[dict[str, str]]:
    path = run / "history.csv"
    return list(csv.DictReader(path.open())) if path.is_file() else []


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("generative")


@pytest.fixture(scope="module")
def gan(work) -> Path:
    cnnkit(work, "train", *GAN, "hydra.run.dir=gan")
    return work / "gan"


@pytest.fixture(scope="module")
def vae(work) -> Path:
    cnnkit(work, "train", *TINY, "task=vae", "model=vae", "model.base_filters=8",
           "task.kl_warmup_epochs=1", "hydra.run.dir=vae")
    return work / "vae"


def test_gan_logs_both_losses_and_writes_the_epoch_grid(gan):
    row = history(gan)[0]
    assert {"d_loss", "g_loss", "val_d_loss", "val_g_loss"} <= set(row)
    assert all(np.isfinite(float(row[k])) for k in ("d_loss", "g_loss"))
    grid = Image.open(gan / "samples" / "epoch_001.png")
    assert grid.size == (21 * 34 + 2, 3 * 34 + 2)  # conditional: a row per class, 64 // 3 wide


def test_sample_writes_grids_arrays_and_folders(gan, work):
    out = cnnkit(work, "sample", "run=gan", "n=64", "output=grid.png").stdout
    # conditional, no class asked for: the classes in turn, one per column
    assert "64 samples" in out and Image.open(work / "grid.png").size == (3 * 34 + 2, 22 * 34 + 2)
    cnnkit(work, "sample", "run=gan", "n=5", "class=triangle", "output=t.npy")
    array = np.load(work / "t.npy")
    assert array.shape == (5, 32, 32) and array.dtype == np.float32  # shapes: raw floats in [0, 1]
    cnnkit(work, "sample", "run=gan", "n=16", "interpolate=true", "output=walk")
    assert len(list((work / "walk").glob("sample_*.png"))) == 16


def test_sample_refuses_an_unknown_class_in_one_line(gan, work):
    result = subprocess.run([*cnnkit_executable(), "sample", "run=gan", "class=hexagon",
                             "output=x.png"], cwd=work, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "circle, square, triangle" in result.stderr


def test_evaluate_scores_samples_in_a_classifier_feature_space(gan, work):
    cnnkit(work, "train", "conf=shapes_classification", *TINY, "hydra.run.dir=clf")
    cnnkit(work, "evaluate", "run=gan", "task.feature_run=clf", "task.eval_samples=60")
    report = json.loads((gan / "eval" / "test.json").read_text())
    assert {"fid", "kid", "fid_noise", "class_histogram", "class_agreement"} <= set(report)
    assert sum(report["class_histogram"]) == 60 and report["fid_noise"] > 0


def test_vae_samples_and_reconstructs(vae, work):
    row = history(vae)[0]
    assert {"loss", "reconstruction_loss", "kl_loss", "kl_weight", "val_loss"} <= set(row)
    assert (vae / "samples" / "epoch_001.png").is_file()
    cnnkit(work, "sample", "run=vae", "n=64", "output=vae.png")
    assert (work / "vae.png").is_file()
    np.save(work / "x.npy", np.random.default_rng(0).random((3, 32, 32), "float32"))
    cnnkit(work, "predict", "run=vae", "input=x.npy", "output=rec")
    assert len(list((work / "rec").glob("*.png"))) == 3


def test_gan_resumes_to_the_same_end(work):
    args = [*GAN, "trainer.epochs=2", "trainer.deterministic=true", "task.loss=wgan_gp",
            "task.n_critic=2"]
    cnnkit(work, "train", *args, "hydra.run.dir=whole")
    run = work / "stopped"
    process = subprocess.Popen([*cnnkit_executable(), "train", *args, f"hydra.run.dir={run}"],
                               cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not history(run) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.terminate()
    process.wait(timeout=120)
    if len(history(run)) == 2:
        pytest.skip("the run finished before it could be stopped")
    cnnkit(work, "train", f"resume={run}")
    assert history(run) == history(work / "whole")
