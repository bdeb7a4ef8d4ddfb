"""`cnnkit explain`: on `shapes`, where the one drawn shape decides the class, Grad-CAM's mass
lies inside the shape (>= 3x its area fraction) and occlusion agrees; every method writes PNGs
and an index; Grad-CAM works inside a nested MobileNetV2 backbone, at its default layer and at a
named inner layer."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from cnnkit.errors import ConfigError
from tests.conftest import cnnkit_executable

pytestmark = pytest.mark.slow

METHODS = ["gradcam", "gradcam++", "saliency", "occlusion", "feature_maps", "filters",
           "top_activations", "embedding"]


def train(work, name, *overrides):
    run = work / name
    result = subprocess.run([*cnnkit_executable(), "train", *overrides, f"hydra.run.dir={run}"],
                            cwd=work, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return run


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """A shapes classifier and 40 fresh shapes (seed unseen in training) with their masks."""
    from cnnkit.data.sources.shapes import generate_shapes

    work = tmp_path_factory.mktemp("explain")
    run = train(work, "shapes", "conf=shapes_classification", "trainer.epochs=5")
    sample = generate_shapes(40, 32, ["circle", "square", "triangle"], 0.1, seed=12345)
    np.save(work / "shapes.npy", sample["images"])
    return work, run, sample


def localisation(work, run, sample, method):
    """(mean share of the map inside the shape, mean area share of the shape), correct only."""
    from cnnkit.commands.explain import run as explain
    from cnnkit.explain.attribution import mass_inside

    index = explain([f"run={run}", f"input={work / 'shapes.npy'}", f"method={method}",
                     f"output={work / method}"])
    heat = np.load(work / method / "heatmaps.npy")
    masks = sample["masks"][..., 0].astype(bool)
    correct = np.array([item["class"] == label for item, label in
                        zip(index["items"], sample["labels"], strict=True)])
    assert correct.mean() > 0.8  # the model learned the shapes
    inside = np.array([mass_inside(h, m) for h, m in zip(heat[correct], masks[correct],
                                                         strict=True)])
    return float(inside.mean()), float(masks[correct].mean())


@pytest.mark.parametrize("method", ["gradcam", "occlusion"])
def test_the_map_lies_inside_the_deciding_shape(shapes, method):
    work, run, sample = shapes
    inside, area = localisation(work, run, sample, method)
    print(f"{method}: {inside:.3f} of the mass inside shapes covering {area:.3f} "
          f"({inside / area:.2f}x)")
    assert inside >= 3 * area


def test_every_method_writes_pictures_and_an_index(shapes):
    from cnnkit.commands.explain import run as explain

    work, run, sample = shapes
    np.save(work / "few.npy", sample["images"][:4])
    for method in METHODS:
        source = ["input=split"] if method in ("top_activations", "embedding") else \
            [f"input={work / 'few.npy'}"]
        folder = work / f"all_{method}"
        index = explain([f"run={run}", *source, f"method={method}", f"output={folder}",
                         "explain.samples=3", "explain.steps=4"])
        stored = json.loads((folder / "index.json").read_text())
        assert stored["method"] == method == index["method"]
        pngs = [item["file"] for item in stored["items"] if item["file"].endswith(".png")]
        assert pngs and all((folder / p).is_file() for p in pngs)
    embedded = np.load(work / "all_embedding" / "embedding.npy")
    assert embedded.shape == (128, 2)  # the validation split, coloured by its labels
    assert json.loads((work / "all_embedding" / "index.json").read_text())[
        "coloured_by"] == "true label"


def test_a_class_can_be_chosen_by_name_and_wrong_names_are_refused(shapes):
    from cnnkit.commands.explain import run as explain

    work, run, sample = shapes
    index = explain([f"run={run}", f"input={work / 'few.npy'}", "method=gradcam",
                     "class=square", f"output={work / 'square'}"])
    assert {item["class_name"] for item in index["items"]} == {"square"}
    with pytest.raises(ConfigError, match="Did you mean: square"):
        explain([f"run={run}", f"input={work / 'few.npy'}", "method=gradcam", "class=sqare"])
    with pytest.raises(ConfigError, match="explain.nosie"):
        explain([f"run={run}", f"input={work / 'few.npy'}", "method=saliency",
                 "explain.nosie=0.1"])


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    from sklearn.datasets import load_digits

    work = tmp_path_factory.mktemp("backbone")
    run = train(work, "bb", "data=digits", "data.max_samples=300", "model=backbone",
                "model.name=MobileNetV2", "model.weights=null", "model.freeze=null",
                "model.input_shape=[32,32,1]", "trainer.epochs=1")
    np.save(work / "x.npy", load_digits().images[:5])
    return work, run


@pytest.mark.parametrize("layer, expected", [
    (None, "mobilenetv2_1.00_32/Conv_1"),  # the backbone's last convolution, inside it
    ("mobilenetv2_1.00_32/block_15_expand", "mobilenetv2_1.00_32/block_15_expand"),
    ("mobilenetv2_1.00_224/Conv_1", "mobilenetv2_1.00_32/Conv_1"),  # as written for 224 inputs
])
def test_gradcam_inside_a_nested_backbone(backbone, layer, expected):
    work, run = backbone
    folder = work / f"cam_{layer}".replace("/", "_")
    result = subprocess.run([*cnnkit_executable(), "explain", f"run={run}",
                             f"input={work / 'x.npy'}", "method=gradcam", f"output={folder}",
                             *([f"layer={layer}"] if layer else [])],
                            cwd=work, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    index = json.loads((folder / "index.json").read_text())
    assert index["layer"] == expected
    assert len(list(folder.glob("*.png"))) == 5
    heat = np.load(folder / "heatmaps.npy")
    assert heat.shape == (5, 32, 32) and np.isfinite(heat).all()
