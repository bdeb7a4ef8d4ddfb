"""Fixed held-out lists: stems and globs move files (and their groups) out of train."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.data.held_out import check_held_out, hold_out
from cnnkit.errors import ConfigError

ROOT = Path("/data")
FILES = [ROOT / "a" / "x1.png", ROOT / "a" / "x2.png", ROOT / "b" / "x1.png", ROOT / "b" / "y.png"]


def test_stems_and_relative_globs_pick_files_and_groups_follow():
    given = {"train": (FILES, np.arange(4))}
    groups = {"train": np.asarray(["p", "q", "r", "s"])}
    out, out_groups = hold_out(given, {"test": ["b/*"], "val": ["x2"]}, ROOT, groups)
    assert out["test"][0] == FILES[2:] and out["test"][1].tolist() == [2, 3]
    assert out["val"][0] == [FILES[1]] and out["train"][0] == [FILES[0]]
    assert out_groups["test"].tolist() == ["r", "s"] and out_groups["train"].tolist() == ["p"]


def test_nothing_named_leaves_the_splits_as_given():
    given = {"train": (FILES, np.arange(4))}
    assert hold_out(given, {"test": None, "val": []}, ROOT) == (given, None)


def test_a_split_the_data_give_and_val_files_with_folds_are_refused():
    given = {"train": (FILES, np.arange(4)), "test": ([], np.arange(0))}
    with pytest.raises(ConfigError, match=r"`data\.test_files` names files .* already give"):
        hold_out(given, {"test": ["y"]}, ROOT)
    with pytest.raises(ConfigError, match=r"`data\.val_files` fixes the val split"):
        check_held_out(OmegaConf.create({"val_files": ["y"], "folds": 5}))
    check_held_out(OmegaConf.create({"val_files": ["y"], "folds": None}))
