"""`cnnkit train`'s own options and the run-directory rules, without training anything."""

from __future__ import annotations

import os

import pytest
from omegaconf import OmegaConf

from cnnkit.commands.rundirs import (
    changed_keys,
    check_target,
    refuse_changes,
    resolve_resume,
    take_options,
)
from cnnkit.errors import CnnkitError, ConfigError, RunDirError


def test_options_are_taken_out_and_the_rest_are_overrides():
    options, rest = take_options(["resume=runs/a", "allow_changes=[trainer.epochs, optimizer.lr]",
                                  "trainer.epochs=9"])
    assert options.resume == "runs/a" and options.allow_changes == ["trainer.epochs", "optimizer.lr"]
    assert rest == ["trainer.epochs=9"]
    assert take_options(["overwrite=true"])[0].overwrite
    for bad, message in [(["allow_changes=[x]"], "only applies with `resume"),
                         (["overwrite=true", "resume=a"], "contradict"),
                         (["overwrite=maybe"], "true or false")]:
        with pytest.raises(ConfigError, match=message):
            take_options(bad)


def test_a_finished_or_interrupted_run_is_refused_with_what_to_type(tmp_path):
    check_target(tmp_path / "new", overwrite=False)  # absent: fine
    (tmp_path / "done" / "checkpoints").mkdir(parents=True)
    for name in ("metrics.json", "model.keras"):
        (tmp_path / "done" / name).write_text("x")
    with pytest.raises(RunDirError, match="finished run.*overwrite=true.*resume="):
        check_target(tmp_path / "done", overwrite=False)
    check_target(tmp_path / "done", overwrite=True)
    (tmp_path / "cut" / "checkpoints").mkdir(parents=True)
    with pytest.raises(RunDirError, match=f"interrupted run. Continue it with: cnnkit train resume={tmp_path / 'cut'}"):
        check_target(tmp_path / "cut", overwrite=False)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("not a run")
    with pytest.raises(RunDirError, match="not a cnnkit run"):
        check_target(tmp_path / "mine", overwrite=True)


def test_resume_last_is_the_newest_run_of_the_experiment(tmp_path):
    for name, stamp in [("2026-01-01_10-00-00", 100), ("2026-01-02_10-00-00", 200)]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text("name: x\n")
        os.utime(tmp_path / name / "config.yaml", (stamp, stamp))
    assert resolve_resume("last", tmp_path).name == "2026-01-02_10-00-00"
    with pytest.raises(RunDirError, match="no run in"):
        resolve_resume("last", tmp_path / "other")
    with pytest.raises(RunDirError, match="no such run directory"):
        resolve_resume(str(tmp_path / "nope"), tmp_path)


def test_only_allowed_keys_may_change_on_resume(tmp_path):
    saved = OmegaConf.create({"trainer": {"epochs": 5}, "optimizer": {"lr": 0.1, "name": "adam"}})
    wanted = OmegaConf.create({"trainer": {"epochs": 8}, "optimizer": {"lr": 0.2, "name": "adam"}})
    changed = changed_keys(saved, wanted)
    assert changed == ["optimizer.lr", "trainer.epochs"]
    refuse_changes(changed, ["trainer.epochs", "optimizer"], tmp_path)  # a group allows its keys
    with pytest.raises(CnnkitError, match=r"at optimizer.lr\. .*allow_changes=\[optimizer.lr\]"):
        refuse_changes(changed, ["trainer.epochs"], tmp_path)
