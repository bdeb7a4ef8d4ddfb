"""Carved splits with groups and k-fold cross-validation (data/splits.py and the sources)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.config.compose import compose
from cnnkit.data.sources import load_source
from cnnkit.data.splits import assemble_splits, check_folds, group_ids
from cnnkit.errors import ConfigError, DataError


def dataset(n: int = 60, patients: int = 15) -> tuple[list[str], np.ndarray, np.ndarray]:
    """File names P<patient>_<i>.png, 3 classes, each patient with n / patients images."""
    groups = np.asarray([f"P{i % patients:02d}" for i in range(n)])
    files = [f"{g}_{i}.png" for i, g in enumerate(groups)]
    return files, (np.arange(n) % 3).astype("int32"), groups


def group_of(files: list[str]) -> set[str]:
    return {name.split("_")[0] for name in files}


def test_carved_splits_keep_every_group_on_one_side():
    files, y, groups = dataset()
    splits = assemble_splits({"train": (files, y)}, 0.2, 0.2, seed=3, groups={"train": groups})
    sides = {name: group_of(x) for name, (x, _) in splits.items()}
    assert set(sides) == {"train", "val", "test"}
    assert all(sides[a].isdisjoint(sides[b]) for a in sides for b in sides if a < b)
    assert sorted(f for x, _ in splits.values() for f in x) == sorted(files)  # nothing lost
    ungrouped = assemble_splits({"train": (files, y)}, 0.2, 0.2, seed=3)
    assert len(group_of(ungrouped["val"][0]) & group_of(ungrouped["train"][0])) > 0


@pytest.mark.parametrize("grouped", [False, True])
def test_five_folds_partition_the_data(grouped):
    files, y, groups = dataset()
    folds = [assemble_splits({"train": (files, y)}, 0.15, 0.2, seed=7, folds=5, fold=k,
                             groups={"train": groups} if grouped else None) for k in range(5)]
    test = [sorted(f["test"][0]) for f in folds]
    assert all(t == test[0] for t in test)  # test carved first, the same in every fold
    pool = sorted(set(files) - set(test[0]))
    vals = [f["val"][0] for f in folds]
    assert sorted(v for val in vals for v in val) == pool  # each example in exactly one val fold
    for split in folds:
        train, val = set(split["train"][0]), set(split["val"][0])
        assert train.isdisjoint(val) and sorted(train | val) == pool
        if grouped:
            assert group_of(list(train)).isdisjoint(group_of(list(val)))
            assert group_of(list(train | val)).isdisjoint(group_of(split["test"][0]))
        else:  # stratified: every fold holds each class in the same share
            assert np.bincount(split["val"][1], minlength=3).min() >= 2


def test_folds_are_seeded_and_pool_a_given_val_split():
    x, y = np.arange(40), np.arange(40) % 2
    given = {"train": (x[:30], y[:30]), "val": (x[30:], y[30:])}
    first = assemble_splits(given, 0.2, 0.0, seed=1, folds=4, fold=2)
    again = assemble_splits(given, 0.2, 0.0, seed=1, folds=4, fold=2)
    other = assemble_splits(given, 0.2, 0.0, seed=2, folds=4, fold=2)
    assert first["val"][0].tolist() == again["val"][0].tolist() != other["val"][0].tolist()
    assert sorted(np.concatenate([first["train"][0], first["val"][0]]).tolist()) == x.tolist()
    assert len(first["val"][0]) == 10


def test_a_group_split_across_given_splits_is_reported(caplog):
    with caplog.at_level(logging.WARNING, logger="cnnkit.data"):
        assemble_splits({"train": (["a", "b"], np.zeros(2)), "val": (["c"], np.zeros(1))},
                        0.0, 0.0, 0, groups={"train": np.asarray(["P1", "P2"]),
                                             "val": np.asarray(["P1"])})
    assert "1 groups (e.g. 'P1') are in both the given train and val splits" in caplog.text


@pytest.mark.parametrize(("folds", "fold", "message"), [
    (None, 0, r"`data.fold` needs `data.folds`"),
    (5, 5, r"`data.fold` must be in 0..4 \(data.folds=5\). Received: 5"),
    (5, None, r"`data.folds=5` needs `data.fold`"),
])
def test_fold_errors_name_both_keys(folds, fold, message):
    with pytest.raises(ConfigError, match=message):
        check_folds(folds, fold)


def test_more_folds_than_groups_is_one_clear_error():
    with pytest.raises(DataError, match=r"Cannot make 5 folds \(`data.folds`\) of 3 groups"):
        assemble_splits({"train": (list("abcdef"), np.zeros(6))}, 0, 0, 0, folds=5, fold=0,
                        groups={"train": np.asarray(list("xxyyzz"))})


def test_group_pattern_takes_the_first_group_or_the_match():
    assert group_ids([Path("a/P01_3.png"), "b/P02_1.png"], r"^(P\d+)_").tolist() == ["P01", "P02"]
    assert group_ids(["P01_3.png"], r"P\d+").tolist() == ["P01"]
    with pytest.raises(DataError, match=r"does not match the file name 'scan7.png' \(x/scan7.png\)"):
        group_ids(["x/P01_1.png", "x/scan7.png"], r"^(P\d+)_")
    with pytest.raises(ConfigError, match="`data.group_pattern` is not a regular expression"):
        group_ids(["a.png"], "(")


def write_table(folder: Path, n: int = 24, patients: int = 8) -> Path:
    """A CSV of n tiny PNGs, `patient_id` and `label` columns."""
    (folder / "img").mkdir(parents=True)
    rows = []
    for i in range(n):
        Image.fromarray(np.full((4, 4), i, np.uint8)).save(folder / "img" / f"{i}.png")
        rows.append(f"img/{i}.png,p{i % patients},{'ab'[i % 2]}")
    table = folder / "data.csv"
    table.write_text("path,patient_id,label\n" + "\n".join(rows) + "\n")
    return table


def load(table: Path, *overrides: str):
    return load_source(compose("train", ["data=csv", f"data.path={table}", *overrides]).data)


def test_csv_group_column_keeps_each_patient_in_one_split(tmp_path):
    table = write_table(tmp_path)
    data = load(table, "data.group_column=patient_id", "data.val_fraction=0.25",
                "data.test_fraction=0.25")
    patient = {f"{i}.png": f"p{i % 8}" for i in range(24)}
    sides = {name: {patient[Path(f).name] for f in files}
             for name, files in data.meta["files"].items()}
    assert set(sides) == {"train", "val", "test"} and all(sides.values())
    assert all(sides[a].isdisjoint(sides[b]) for a in sides for b in sides if a < b)
    assert sum(len(s) for s in sides.values()) == 8


def test_csv_folds_partition_the_rows(tmp_path):
    table = write_table(tmp_path)
    vals = [load(table, "data.folds=4", f"data.fold={k}", "data.test_fraction=0",
                 "data.group_column=patient_id").meta["files"] for k in range(4)]
    val_files = sorted(str(f) for v in vals for f in v["val"])
    assert val_files == sorted(str(tmp_path / "img" / f"{i}.png") for i in range(24))
    assert all(set(v["train"]).isdisjoint(v["val"]) for v in vals)


def test_csv_group_errors_name_the_columns(tmp_path):
    table = write_table(tmp_path)
    with pytest.raises(ConfigError, match=r"`data.group_column` names a column .* Received: "
                                          r"'patient'\. Columns: path, patient_id, label\. "
                                          r"Did you mean: patient_id\?"):
        load(table, "data.group_column=patient")
    with pytest.raises(ConfigError, match="Set one of `data.group_column` and `data.group_pattern`"):
        load(table, "data.group_column=patient_id", "data.group_pattern=x")


def test_numpy_arrays_take_folds(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, x_train=np.zeros((20, 4, 4), np.uint8), y_train=np.arange(20) % 2)
    data = load_source(compose("train", ["data=numpy", f"data.path={path}", "data.folds=5",
                                         "data.fold=1", "data.test_fraction=0"]).data)
    assert {k: len(v[1]) for k, v in data.splits.items()} == {"train": 16, "val": 4}


def test_folder_group_pattern_keeps_each_patient_in_one_split(tmp_path):
    for i in range(30):
        folder = tmp_path / ("benign", "malignant")[i % 2]
        folder.mkdir(exist_ok=True)
        Image.fromarray(np.full((4, 4), i, np.uint8)).save(folder / f"P{i // 3:02d}_{i}.png")
    data = load_source(compose("train", ["data=folder", f"data.path={tmp_path}",
                                         r"data.group_pattern='^(P\d+)_'"]).data)
    sides = {name: group_of([Path(f).name for f in files])
             for name, files in data.meta["files"].items()}
    assert set(sides) == {"train", "val", "test"}
    assert all(sides[a].isdisjoint(sides[b]) for a in sides for b in sides if a < b)
    with pytest.raises(DataError, match=r"does not match the file name 'P00_0.png'"):
        load_source(compose("train", ["data=folder", f"data.path={tmp_path}",
                                      r"data.group_pattern='^patient(\d+)'"]).data)
