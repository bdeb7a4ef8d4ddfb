"""`model=auto` and `cnnkit plan`: when train plans, what overrides it trains with, plan.yaml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from cnnkit.commands import plan as planning
from cnnkit.commands.launch import precheck
from cnnkit.config.compose import translate_overrides
from cnnkit.errors import DataError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("a", "b"):
        (tmp_path / "d" / name).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(np.zeros((28, 28), "uint8")).save(tmp_path / "d" / name / f"{i}.png")
    return tmp_path / "d"


def plan_for(*args: str):
    overrides = translate_overrides(list(args))
    return planning.plan_for(list(args), overrides, overrides)


def test_a_folder_without_a_model_trains_with_the_plan_and_it_validates(folder):
    plan, overrides = plan_for("data=folder", f"data.path={folder}")
    assert plan is not None and plan.value("model") == "resnet18"
    assert "model=resnet18" in overrides and "++model.stem=small" in overrides
    _, cfg = precheck(overrides)
    assert cfg.model.name == "resnet18" and cfg.model.stem == "small"
    assert cfg.optimizer.name == "adamw" and cfg.trainer.max_time == "10m"


def test_explicit_keys_beat_the_plan(folder):
    plan, overrides = plan_for("data=folder", f"data.path={folder}", "trainer.epochs=3",
                               "data.batch_size=16", "augment=none")
    _, cfg = precheck(overrides)
    assert (cfg.trainer.epochs, cfg.data.batch_size) == (3, 16)
    assert cfg.augment.transforms == []
    assert {c.key for c in plan.choices if c.yours} == {"trainer.epochs", "data.batch_size",
                                                        "augment"}


@pytest.mark.parametrize("args", [["data=digits"], ["model=resnet34", "data=folder"],
                                  ["data=folder", "model.input_shape=[32,32,1]"]])
def test_a_given_model_or_a_demo_source_keeps_its_meaning(args, folder):
    args = [*args, f"data.path={folder}"] if "data=folder" in args else args
    plan, overrides = plan_for(*args)
    assert plan is None and overrides == translate_overrides(args)


def test_model_auto_plans_on_a_demo_source_too():
    plan, overrides = plan_for("model=auto", "data=digits")
    assert plan.value("model") == "resnet18" and "model=auto" not in overrides
    assert precheck(overrides)[1].model.name == "resnet18"


def test_the_plan_command_prints_the_table_and_save_plan_writes_yaml(folder, tmp_path, capsys):
    plan = planning.run(["data=folder", f"data.path={folder}", "trainer.epochs=2"])
    out = capsys.readouterr().out
    assert "resnet18" in out and "set by you" in out and "train with it: cnnkit train" in out
    saved = yaml.safe_load(planning.save_plan(plan, tmp_path).read_text())
    assert saved["data"]["size_median"] == [28, 28]
    assert {"key": "trainer.epochs", "value": 2, "why": "set by you",
            "set_by": "you"} in saved["choices"]


def test_a_missing_folder_is_one_user_error(tmp_path):
    with pytest.raises(DataError, match="`data.path` is not a folder"):
        planning.run(["data=folder", f"data.path={tmp_path / 'nope'}"])
