"""`cnnkit validate` on every shipped preset, and a fuzz test of the validation pass."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from cnnkit.commands import validate
from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose, preset_names
from cnnkit.errors import CnnkitError


@pytest.fixture(scope="module")
def fashion_like(tmp_path_factory) -> str:
    """A few Fashion-MNIST-shaped arrays: the fashion_* and mnist experiments name the file they
    train on."""
    path = tmp_path_factory.mktemp("npz") / "fashion.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (40, 28, 28), dtype="uint8"),
             y_train=np.arange(40, dtype="uint8") % 10,
             x_test=rng.integers(0, 256, (10, 28, 28), dtype="uint8"),
             y_test=np.arange(10, dtype="uint8"))
    return str(path)


@pytest.fixture(scope="module")
def isbi_like(tmp_path_factory) -> str:
    """30 small gray images with 0/255 masks named 0..29 in image/ and label/, as ISBI-EM."""
    from PIL import Image

    root = tmp_path_factory.mktemp("isbi")
    rng = np.random.default_rng(0)
    for folder in ("image", "label"):
        (root / folder).mkdir()
        for i in range(30):
            values = rng.integers(0, 256, (48, 48)) if folder == "image" else (
                rng.integers(0, 2, (48, 48)) * 255)
            Image.fromarray(values.astype("uint8")).save(root / folder / f"{i}.png")
    return str(root)


@pytest.mark.parametrize("experiment", preset_names("experiment"))
def test_every_experiment_validates_and_builds(experiment, fashion_like, isbi_like) -> None:
    paths = {"fashion": fashion_like, "mnist": fashion_like, "isbi": isbi_like}
    data = [f"data.path={path}" for prefix, path in paths.items() if experiment.startswith(prefix)]
    assert validate.run([f"conf={experiment}", *data])["params"] > 0


def test_a_folder_without_a_model_validates_what_train_would_plan(tmp_path, capsys) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(
                tmp_path / name / f"{i}.png")
    assert validate.run(["data=folder", f"data.path={tmp_path}"])["params"] > 1_000_000
    out = capsys.readouterr().out
    assert "plan: folder (classification)" in out and "model=resnet18" in out


#: what a model preset needs to validate on its own: its task, or an input of its rank
PRESET_ARGS = {"backbone": ["model.weights=null", "model.input_shape=[32,32,1]"],
               "dcgan": ["task=gan"], "vae": ["task=vae"],
               "dcgan3d": ["task=gan", "model.input_shape=[16,16,16,1]"]}


@pytest.mark.parametrize("model", preset_names("model"))
def test_every_model_preset_validates_and_builds_on_its_own(model) -> None:
    assert validate.run([f"model={model}", *PRESET_ARGS.get(model, [])])["params"] > 0


@pytest.mark.parametrize(("group", "needs"), [("data", {"folder": "data.path", "csv": "data.path",
                                                         "numpy": "data.path", "nifti": "data.path",
                                                         "tfds": "data.name", "records": "data.path"})])
def test_every_data_preset_validates_or_names_only_its_required_key(group, needs) -> None:
    for preset in preset_names(group):
        task = {"volumes": ["task=segmentation", "model=unet3d"], "shapes_multi": ["task=regression"],
                "signals": ["model=cnn1d"]}.get(preset, [])
        try:
            validated(compose("train", [f"data={preset}", *task]), uses_data=False)  # no files
        except CnnkitError as error:
            assert preset in needs and str(error).startswith(f"`{needs[preset]}` is required"), error


# --- fuzz: random mutations of shipped configs end in a valid config or one CnnkitError line ---

BASES = ["", "shapes_classification", "shapes_segmentation", "shapes_regression", "signals_classification"]
BAD_VALUES = st.sampled_from([-4, 0, -0.5, 1000, 1e3 + 0.5, "abc", "", None, True, [], [1, 2], {"x": 1}, 3.5,
                              "relu", "same", "Conv2D", "???", [0, -1, 3]])
_bases: dict[str, dict] = {}
cases = {"count": 0, "valid": 0, "refused": 0}


def _base(name: str) -> dict:
    if name not in _bases:
        cfg = compose("train", [f"conf={name}"] if name else [])
        _bases[name] = OmegaConf.to_container(cfg, resolve=False)
    return copy.deepcopy(_bases[name])


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _mutate(cfg: dict, kind: str, rng: random.Random, value) -> None:
    paths = [p for p in _paths(cfg) if p and p[0] != "hydra"]
    path = rng.choice(paths)
    parent = cfg
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if kind == "value":
        parent[last] = value
    elif kind == "misspell" and isinstance(last, str):
        parent[last[:-1] + "x" + last[-1:] if len(last) > 2 else last + "z"] = parent.pop(last)
    elif kind == "unknown" and isinstance(parent, dict):
        parent[f"{last}_extra"] = value
    elif kind == "drop" and isinstance(parent, list) and len(parent) > 1:
        parent.pop(last)
    elif kind == "layer" and isinstance(parent, dict) and isinstance(last, str) and last[:1].isupper():
        parent[last + "x"] = parent.pop(last)


@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), kind=st.sampled_from(["value", "misspell", "unknown", "drop", "layer"]),
       seed=st.integers(0, 2**16), value=BAD_VALUES)
def _validate_a_mutation(base, kind, seed, value) -> None:
    cfg = _base(base)
    _mutate(cfg, kind, random.Random(seed), value)
    cases["count"] += 1
    try:
        composed = OmegaConf.create(cfg)
        checked = validated(composed)
        from cnnkit.commands.common import symbolic_model

        symbolic_model(checked)
        cases["valid"] += 1
    except CnnkitError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        assert 1 <= len(lines) <= 3, str(error)  # one message; a list of choices may follow
        cases["refused"] += 1


def test_fuzzed_configs_end_in_a_model_or_one_cnnkit_error(capsys) -> None:
    _validate_a_mutation()
    with capsys.disabled():
        print(f"\nfuzz: {cases['count']} mutated configs: {cases['valid']} built, "
              f"{cases['refused']} refused with a CnnkitError, 0 other exceptions")
    assert cases["count"] >= 1000 and cases["valid"] > 0 and cases["refused"] > 0
