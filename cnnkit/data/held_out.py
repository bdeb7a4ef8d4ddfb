"""Fixed held-out lists (`data.test_files`, `data.val_files`): named files taken out of train
before any fraction is carved, so a benchmark's official test images never leak into training.

Each entry is a file stem or a glob pattern (fnmatch, case-sensitive) matched against a file's
stem, name, and path relative to its split's folder (with and without the suffix): `"25"`,
`"2?"`, `"image/2*"` and `"*/25.png"` all pick `image/25.png`. The files picked become the
given test/val split, so `data.test_fraction` / `data.val_fraction` carve nothing more for that
split (as for a dataset that ships a test/ folder).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError, DataError

HELD_OUT_KEYS = {"test": "data.test_files", "val": "data.val_files"}


def file_names(path: Any, root: Path | None) -> tuple[str, ...]:
    """What a pattern may match of `path`: stem, name, relative path with and without suffix."""
    file = PurePath(path)
    relative = file.relative_to(root) if root is not None and file.is_relative_to(root) else file
    return file.stem, file.name, relative.as_posix(), relative.with_suffix("").as_posix()


def matches(patterns: list[str], path: Any, root: Path | None) -> list[str]:
    """The patterns of `patterns` that pick `path`."""
    names = file_names(path, root)
    return [p for p in patterns if any(fnmatchcase(name, p) for name in names)]


def hold_out(given: dict[str, tuple[Any, Any]], lists: dict[str, list[str] | None],
             root: Path | None = None, groups: dict[str, Any] | None = None,
             ) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any] | None]:
    """`given` with the files `lists` names (split -> patterns) moved from train into that
    split; `groups` (split -> group per file) follow their files. Paths are matched relative to
    `root` (the split's folder or the CSV's). A pattern that picks nothing, a file picked for
    two splits, or a split the data already give is a one-line error naming the key."""
    wanted = {name: [str(p) for p in patterns] for name, patterns in lists.items() if patterns}
    if not wanted:
        return given, groups
    for name in wanted:
        if name in given:
            raise ConfigError(f"`{HELD_OUT_KEYS[name]}` names files for the {name} split, but the "
                              f"data already give a {name} split (a {name}/ folder or split "
                              f"column). Expected one of the two")
    files, targets = given["train"]
    picked: dict[str, list[int]] = {name: [] for name in wanted}
    used = {(name, p): False for name, patterns in wanted.items() for p in patterns}
    for index, path in enumerate(files):
        hits = {name: matches(patterns, path, root) for name, patterns in wanted.items()}
        hits = {name: found for name, found in hits.items() if found}
        if len(hits) > 1:
            raise ConfigError(f"{path} is picked by both `data.test_files` ({hits['test'][0]!r}) "
                              f"and `data.val_files` ({hits['val'][0]!r}). Expected each file in "
                              "one list at most")
        for name, found in hits.items():
            picked[name].append(index)
            used.update({(name, p): True for p in found})
    missing = next((key for key, hit in used.items() if not hit), None)
    if missing is not None:
        name, pattern = missing
        raise DataError(f"`{HELD_OUT_KEYS[name]}` entry {pattern!r} matches no training file. "
                        "Expected a file stem (e.g. '25') or a glob on the stem or the path "
                        "relative to the data folder (e.g. 'image/2*')")
    out, out_groups = dict(given), dict(groups) if groups is not None else None
    taken = sorted(i for rows in picked.values() for i in rows)
    rest = np.setdiff1d(np.arange(len(files)), taken)
    for name, rows in picked.items():
        out[name] = ([files[i] for i in rows], np.asarray(targets)[rows])
        if out_groups is not None:
            out_groups[name] = np.asarray(groups["train"])[rows]
    out["train"] = ([files[i] for i in rest], np.asarray(targets)[rest])
    if out_groups is not None:
        out_groups["train"] = np.asarray(groups["train"])[rest]
    return out, out_groups


def check_held_out(data_cfg: Any) -> None:
    """`data.val_files` and `data.folds` exclude each other (folds pool a given val split into
    the folds): run by the validation pass."""
    if data_cfg.get("val_files") and data_cfg.get("folds") is not None:
        raise ConfigError("`data.val_files` fixes the val split; `data.folds` makes val a fold of "
                          f"train. Received: val_files={list(data_cfg.get('val_files'))} with "
                          f"folds={data_cfg.get('folds')}. Expected one of the two")
