"""The validation pass: what a user mistypes ends in one line naming the key, before TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose
from cnnkit.errors import ConfigError

TYPOS = {  # name -> (args, files, a pattern the message must hold)
    "epocs": (["train", "trainer.epocs=3"], {}, r"`trainer\.epocs`.*Did you mean: epochs"),
    "group-train": (["train", "model=resnet"], {}, r"`model=resnet`.*resnet18, resnet34, resnet50"),
    "group-summary": (["summary", "model=resnet"], {}, r"resnet18"),
    "task-los": (["validate", "conf=./los.yaml"], {"los.yaml": "task: {los: dice}\n"},
                 r"`task\.los`.*Did you mean: loss"),
    "data-foo": (["validate", "conf=./foo.yaml"], {"foo.yaml": "data: {foo: 1}\n"}, r"`data\.foo`"),
    "flipp": (["validate", "conf=./flipp.yaml"],
              {"flipp.yaml": "augment: {transforms: [{name: horizontal_flipp, p: 0.5}]}\n"},
              r"`augment\.transforms\[0\]\.name`.*Did you mean: horizontal_flip"),
    "cosin": (["validate", "conf=./cosin.yaml"], {"cosin.yaml": "optimizer: {schedule: cosin}\n"},
              r"`optimizer\.schedule`.*'cosin'.*Did you mean: cosine"),
    "cfg-job": (["train", "--cfg", "job", "trainer.epochs=abc"], {},
                r"`trainer\.epochs` must be an integer. Received: 'abc'"),
    "grammar": (["train", "trainer.epochs=[3"], {}, r"`trainer\.epochs=\[3` is not a valid override"),
    "regression-hint": (["validate", "data=shapes", "data.target=centre"], {},
                        r"`task=classification`.*numeric values.*task=regression"),
}

RUN_ALL = """
import contextlib, io, json, os, sys
from cnnkit.cli import main
results = {}
for name, (args, files, _) in json.loads(sys.argv[1]).items():
    for file, text in files.items():
        open(file, "w").write(text)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
            code = 0
        except SystemExit as exit:
            code = exit.code
    results[name] = {"code": code, "stderr": err.getvalue(),
                     "tensorflow": any(m == "tensorflow" or m.startswith(("tensorflow.", "keras"))
                                       for m in sys.modules)}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def typo_results(tmp_path_factory) -> dict:
    """Every case in one fresh interpreter, so `tensorflow in sys.modules` means what it says."""
    cwd = tmp_path_factory.mktemp("typos")
    done = subprocess.run([sys.executable, "-c", RUN_ALL, json.dumps(TYPOS)], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(TYPOS))
def test_a_typo_is_one_line_exit_2_without_tensorflow(typo_results, name) -> None:
    result = typo_results[name]
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    assert result["code"] == 2, result
    assert 1 <= len(lines) <= 2 and "Traceback" not in result["stderr"], result["stderr"]
    assert pytest.importorskip("re").search(TYPOS[name][2], result["stderr"]), result["stderr"]
    assert not result["tensorflow"]


def test_unknown_top_level_key_points_at_the_group_key() -> None:
    with pytest.raises(ConfigError, match=r"`epocs` is not a top-level key. Did you mean: trainer\.epochs"):
        validated(compose("train", ["epocs=3"]))


def test_defaults_of_the_schemas_are_filled_in() -> None:
    cfg = validated(compose("train", ["data=shapes"]))
    assert cfg.data.max_samples is None and cfg.schema_version == 2
    assert cfg.optimizer.nesterov is False  # a schema key the preset does not list


@pytest.mark.parametrize(("args", "pattern"), [
    (["task=segmentation"], r"`task=segmentation` learns from masks, but the data give class labels"),
    (["data=volumes", "task=segmentation", "model=default"], r"2D network.*3D volumes.*unet3d"),
    (["optimizer.schedule=multistep", "optimizer.milestones=[5,2]"],
     r"`optimizer\.milestones` must be increasing.*Received: \[5, 2\]"),
    (["optimizer=sgd", "trainer.reduce_lr_patience=3"], r"reduce_lr_patience=3.*schedule=cosine"),
    (["data.val_fraction=1.5"], r"`data\.val_fraction` must be less than 1. Received: 1\.5"),
    (["model.layers=[{Conv2D: {filters: 3, padding: smae}}]"], r"`model\.layers\[0\]\.Conv2D\.padding`.*Did you mean: same"),
    (["task.label_smothing=0.1"], r"`task\.label_smothing`.*Did you mean: label_smoothing"),
    (["model.layerz=[]"], r"`model\.layerz`.*Did you mean: layers"),
    (["data=shapes", "data.target=mask", "task=segmentation", "model=unet", "augment.transforms=[{name: mixup}]"],
     r"mixup mixes class labels"),
    (["trainer.verbose=5"], r"`trainer\.verbose` must be at most 2"),
])
def test_cross_field_rules_and_enums_name_the_keys(args, pattern) -> None:
    with pytest.raises(ConfigError, match=pattern):
        validated(compose("train", args))


def test_a_preset_variable_is_allowed_because_its_layers_use_it() -> None:
    cfg = validated(compose("train", ["model=unet", "model.base_filters=4", "data=shapes",
                                      "data.target=mask", "task=segmentation"]))
    assert cfg.model.base_filters == 4


def test_malformed_tf_config_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ConfigError, match=r"`TF_CONFIG` is not valid JSON"):
        validated(compose("train", []))
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "chief"}}))
    with pytest.raises(ConfigError, match=r"`TF_CONFIG.task` must name this process's role"):
        validated(compose("train", []))


def test_user_file_may_pick_a_data_source_inline(tmp_path) -> None:
    (tmp_path / "cls").mkdir()
    path = tmp_path / "mine.yaml"
    path.write_text(f"data: {{source: folder, path: {tmp_path}}}\n")
    cfg = compose("train", [f"conf={path}"])
    assert cfg.data.source == "folder" and cfg.data.on_bad_file == "error"
    assert "max_samples" in cfg.data  # every source has the common keys
    OmegaConf.to_container(cfg, resolve=True)


def test_required_values_are_reported_alone() -> None:
    with pytest.raises(ConfigError, match=r"^`data\.path` is required and not set"):
        validated(compose("train", ["data=folder"]))
