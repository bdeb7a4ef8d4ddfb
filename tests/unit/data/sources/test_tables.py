"""The csv and numpy sources: labels, regression targets, given splits, remapped keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.config.compose import compose
from cnnkit.data.sources import load_source
from cnnkit.errors import ConfigError, DataError


def load(kind: str, path: Path, *overrides: str):
    return load_source(compose("train", [f"data={kind}", f"data.path={path}", *overrides]).data)


def write_images(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        Image.fromarray(np.full((5, 5), i * 10, np.uint8)).save(folder / f"{i}.png")
        names.append(f"{folder.name}/{i}.png")
    return names


def test_csv_labels_with_a_split_column(tmp_path):
    names = write_images(tmp_path / "img", 8)
    rows = [f"{n},{'cat' if i % 2 else 'dog'},{'val' if i >= 6 else 'train'}"
            for i, n in enumerate(names)]
    table = tmp_path / "data.csv"
    table.write_text("path,label,split\n" + "\n".join(rows) + "\n")
    data = load("csv", table, "data.test_fraction=0")
    assert data.class_names == ["cat", "dog"]
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 6, "val": 2}
    x, y = data.splits["val"].arrays()
    assert x[:, 0, 0, 0].tolist() == [60, 70] and y.tolist() == [1, 0]


def test_csv_regression_targets_are_float_columns(tmp_path):
    names = write_images(tmp_path / "img", 6)
    table = tmp_path / "boxes.csv"
    table.write_text("path,x1,y1\n" + "\n".join(f"{n},{i},{i / 2}" for i, n in
                                                enumerate(names)) + "\n")
    data = load("csv", table, "data.target_columns=[x1,y1]", "data.val_fraction=0",
                "data.test_fraction=0")
    x, y = data.splits["train"].arrays()
    assert data.class_names is None and y.dtype == np.float32 and y.shape == (6, 2)
    assert np.allclose(y[:, 1] * 2, y[:, 0]) and np.allclose(x[:, 0, 0, 0] / 10, y[:, 0])


def test_csv_errors_name_row_column_and_file(tmp_path):
    names = write_images(tmp_path / "img", 4)
    table = tmp_path / "t.csv"
    table.write_text("path,label\n" + "\n".join(f"{n},{'bird' if i == 2 else 'cat'}"
                                               for i, n in enumerate(names)) + "\n")
    with pytest.raises(DataError, match=r"t\.csv row 4: label 'bird' is not one of the classes"):
        load("csv", table, "data.classes=[cat,dog]")
    with pytest.raises(ConfigError, match=r"`data\.label_column` names a column .*Columns: path"):
        load("csv", table, "data.label_column=kind")
    table.write_text("path,label\nimg/0.png,cat\nimg/missing.png,cat\n")
    with pytest.raises(DataError, match=r"Cannot read image .*missing\.png"):
        load("csv", table, "data.val_fraction=0", "data.test_fraction=0")


def test_numpy_reads_the_keras_mnist_layout_as_is(shared_data):
    data = load("numpy", shared_data / "mnist" / "mnist.npz")
    sizes = {k: len(v[1]) for k, v in data.splits.items()}
    assert sizes == {"train": 51000, "val": 9000, "test": 10000}  # val carved from 60000
    assert data.splits["train"][0].shape[1:] == (28, 28, 1) and data.value_max == 255
    assert data.class_names == [str(i) for i in range(10)]
    val_counts = np.bincount(data.splits["val"][1])
    assert val_counts.max() - val_counts.min() < 0.03 * len(data.splits["val"][1])  # stratified


def test_numpy_remapped_keys_npy_folder_and_float_range(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "images.npy", rng.random((10, 4, 4, 3)).astype("float32"))
    np.save(tmp_path / "classes.npy", np.arange(10) % 2)
    data = load("numpy", tmp_path, "data.keys.x_train=images", "data.keys.y_train=classes",
                "data.val_fraction=0.2", "data.test_fraction=0")
    assert data.value_max == 1.0 and data.class_names == ["0", "1"]
    assert {k: len(v[1]) for k, v in data.splits.items()} == {"train": 8, "val": 2}
    np.save(tmp_path / "images.npy", np.full((10, 4, 4, 3), 4095.0, "float32"))
    with pytest.raises(ConfigError, match=r"data\.value_max"):
        load("numpy", tmp_path, "data.keys.x_train=images", "data.keys.y_train=classes")
    with pytest.raises(DataError, match=r"no training images 'x_train' .*Arrays: classes, images"):
        load("numpy", tmp_path)


def test_assemble_splits_keeps_given_splits_and_carves_the_rest_stratified():
    from cnnkit.data.splits import assemble_splits

    x, y = np.arange(100), np.repeat([0, 1], [80, 20]).astype("int32")
    given = {"train": (x, y), "val": (x[:5], y[:5])}
    splits = assemble_splits(given, 0.3, 0.2, seed=1)
    assert splits["val"][0] is given["val"][0]  # a given split is never re-carved
    assert len(splits["test"][1]) == 20 and int(splits["test"][1].sum()) == 4  # 20 % of each
    again = assemble_splits(given, 0.3, 0.2, seed=1)
    assert np.array_equal(splits["test"][0], again["test"][0])
    one_of_a_kind = np.array([0, 0, 0, 0, 1], "int32")  # cannot stratify: falls back to random
    assert len(assemble_splits({"train": (np.arange(5), one_of_a_kind)}, 0.4, 0, 0)["val"][1]) == 2


def write_findings_table(tmp_path: Path, cells: list[str], header: str = "path,label") -> Path:
    names = write_images(tmp_path / "img", len(cells))
    table = tmp_path / "findings.csv"
    lines = [f"{n},{c}" for n, c in zip(names, cells, strict=True)]
    table.write_text(header + "\n" + "\n".join(lines) + "\n")
    return table


def test_csv_separated_findings_are_multi_hot_and_no_finding_is_all_zero(tmp_path):
    table = write_findings_table(tmp_path, ["Effusion|Cardiomegaly", "No Finding", "Effusion",
                                            "Cardiomegaly", "No Finding", "Mass | Effusion"])
    data = load("csv", table, "data.label_separator=|", "data.negative_label=No Finding",
                "data.val_fraction=0", "data.test_fraction=0")
    y = data.splits["train"].targets  # labels live beside the files, decoded or not
    assert data.class_names == ["Cardiomegaly", "Effusion", "Mass"]
    assert y.dtype == np.float32 and y.tolist() == [[1, 1, 0], [0, 0, 0], [0, 1, 0], [1, 0, 0],
                                                    [0, 0, 0], [0, 1, 1]]


def test_csv_label_columns_are_multi_hot_named_after_the_columns(tmp_path):
    table = write_findings_table(tmp_path, ["1,0", "0,0", "1,1", "0,1"], "path,edema,mass")
    data = load("csv", table, "data.label_columns=[mass,edema]", "data.val_fraction=0",
                "data.test_fraction=0")
    assert data.class_names == ["mass", "edema"]
    assert data.splits["train"].targets.tolist() == [[0, 1], [0, 0], [1, 1], [1, 0]]
    bad = write_findings_table(tmp_path / "bad", ["1,0", "yes,0"], "path,edema,mass")
    with pytest.raises(DataError, match=r"findings\.csv row 3: column 'edema' must be 0 or 1\. "
                                        r"Received: 'yes'"):
        load("csv", bad, "data.label_columns=[edema,mass]")


def test_multi_label_errors_are_one_line(tmp_path):
    table = write_findings_table(tmp_path, ["A|No Finding", "A"])
    with pytest.raises(DataError, match=r"row 2: 'No Finding' \(`data.negative_label`\) is listed "
                                        "with other labels"):
        load("csv", table, "data.label_separator=|", "data.negative_label=No Finding")
    with pytest.raises(ConfigError, match="`data.negative_label` .* needs `data.label_separator`"):
        load("csv", table, "data.negative_label=No Finding")


def test_csv_test_files_take_their_rows_out_of_training(tmp_path):
    names = write_images(tmp_path / "img", 8)
    table = tmp_path / "data.csv"
    table.write_text("path,label\n" + "\n".join(f"{n},{i % 2}" for i, n in enumerate(names)))
    data = load("csv", table, "data.test_files=['img/6*','7']", "data.val_fraction=0")
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 6, "test": 2}
    assert data.splits["test"].arrays()[0][:, 0, 0, 0].tolist() == [60, 70]
