"""Data fingerprints: equal for equal data, different when a byte or an array value changes."""

from __future__ import annotations

import os
import shutil

import numpy as np

from cnnkit.config.compose import compose
from cnnkit.data.fingerprint import fingerprint, fingerprint_arrays, fingerprint_files
from cnnkit.data.sources import load_source


def write_files(folder, count=3):
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"class{i % 2}").mkdir(exist_ok=True)
        (folder / f"class{i % 2}" / f"{i}.bin").write_bytes(bytes([i]) * 100)
    return sorted(folder.rglob("*.bin"))


def test_files_in_full_equal_for_a_copy_and_changed_by_one_byte(tmp_path):
    files = write_files(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # new mtimes: content alone counts
    first = fingerprint_files(files)
    assert first == {**fingerprint_files(sorted((tmp_path / "b").rglob("*.bin"))),
                     "root": first["root"]}
    assert first["files"] == 3 and first["bytes"] == 300 and "in full" in first["content"]
    stat = os.stat(files[1])
    files[1].write_bytes(b"\x07" + files[1].read_bytes()[1:])  # same size, same mtime
    os.utime(files[1], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint_files(files)["sha256"] != first["sha256"]


def test_files_renamed_count_too(tmp_path):
    files = write_files(tmp_path / "a")
    before = fingerprint_files(files)["sha256"]
    files[0].rename(files[0].with_name("renamed.bin"))
    assert fingerprint_files(sorted((tmp_path / "a").rglob("*.bin")))["sha256"] != before


def test_over_the_budget_a_sample_is_hashed_and_every_mtime_and_size_counts(tmp_path):
    files = write_files(tmp_path / "a", count=40)
    sampled = fingerprint_files(files, budget=1000)  # 4,000 bytes in all
    assert sampled["content"].startswith("10 of 40 files hashed")
    assert fingerprint_files(files, budget=1000) == sampled
    os.utime(files[5], ns=(0, 10**18))  # a file outside the sample, touched
    assert fingerprint_files(files, budget=1000)["sha256"] != sampled["sha256"]


def test_arrays_equal_for_equal_data_and_changed_by_one_value():
    splits = {"train": (np.zeros((4, 2, 2, 1), "float32"), np.arange(4)),
              "val": (np.ones((2, 2, 2, 1), "float32"), {"b": np.ones(2), "a": np.zeros(2)})}
    first = fingerprint_arrays(splits)
    copy = {k: (x.copy(), y) for k, (x, y) in splits.items()}
    assert fingerprint_arrays(copy) == first and first["examples"] == {"train": 4, "val": 2}
    copy["train"][0][3, 1, 1, 0] = 1e-7
    assert fingerprint_arrays(copy)["sha256"] != first["sha256"]
    as_int = {"train": (splits["train"][0].astype("int32"), splits["train"][1])}
    assert fingerprint_arrays(as_int)["sha256"] != fingerprint_arrays(
        {"train": splits["train"]})["sha256"]  # dtype counts, not only bytes


def test_generated_sources_are_fingerprinted_by_their_arrays_after_max_samples():
    full = fingerprint(load_source(compose("train", []).data))
    assert full["kind"] == "arrays" and full["description"] == "scikit-learn 8x8 digits"
    assert fingerprint(load_source(compose("train", []).data)) == full
    fewer = fingerprint(load_source(compose("train", ["data.max_samples=100"]).data))
    assert sum(fewer["examples"].values()) == 100 and fewer["sha256"] != full["sha256"]


def test_file_sources_list_what_they_read(tmp_path):
    arrays = tmp_path / "data.npz"
    x = np.zeros((20, 4, 4), "uint8")
    np.savez(arrays, x_train=x, y_train=np.arange(20) % 2)
    first = fingerprint(load_source(compose("train", ["data=numpy", f"data.path={arrays}"]).data))
    assert first["kind"] == "files" and first["files"] == 1
    x[0, 0, 0] = 1
    np.savez(arrays, x_train=x, y_train=np.arange(20) % 2)
    again = fingerprint(load_source(compose("train", ["data=numpy", f"data.path={arrays}"]).data))
    assert again["sha256"] != first["sha256"]


def test_a_segmentation_folder_counts_its_masks_and_a_csv_its_table(tmp_path):
    from PIL import Image

    for folder, value in (("images", 200), ("masks", 1)):
        (tmp_path / "seg" / folder).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((4, 4), value * (i % 2), np.uint8)).save(
                tmp_path / "seg" / folder / f"s{i}.png")
    seg = fingerprint(load_source(compose(
        "train", ["data=folder", f"data.path={tmp_path / 'seg'}"]).data))
    assert seg["kind"] == "files" and seg["files"] == 8  # 4 images and their 4 masks
    table = tmp_path / "seg" / "table.csv"
    table.write_text("path,label\n" + "".join(f"images/s{i}.png,{i % 2}\n" for i in range(4)))
    listed = fingerprint(load_source(compose("train", ["data=csv", f"data.path={table}"]).data))
    assert listed["files"] == 5  # the table and the 4 images


def test_tfds_names_the_dataset_version_splits_and_hashes_its_prepared_files(tmp_path):
    from tests.unit.data.sources.test_tfds_keras import store_tiny_tfds

    store_tiny_tfds(tmp_path)
    data = load_source(compose("train", ["data=tfds", "data.name=tiny_digits",
                                         f"data.data_dir={tmp_path}"]).data)
    found = fingerprint(data)
    assert found["kind"] == "tfds" and found["name"] == "tiny_digits"
    assert found["version"] == "1.0.0" and found["data_dir"] == str(tmp_path)
    assert found["splits"]["train"] == "train[:85%]" and found["files"] >= 3  # info + shards


def test_nifti_counts_volumes_masks_and_the_labels_table(tmp_path):
    from tests.unit.data.sources.test_nifti import cube_volumes, save

    cube_volumes(tmp_path / "seg")
    seg = fingerprint(load_source(compose("train", ["data=nifti",
                                                    f"data.path={tmp_path / 'seg'}"]).data))
    assert seg["kind"] == "files" and seg["files"] == 6  # 3 volumes and their 3 masks
    for i in range(4):
        save(tmp_path / "cls" / "images" / f"s{i}.nii", np.full((4, 4, 4), i, "float32"))
    (tmp_path / "cls" / "labels.csv").write_text(
        "path,label\n" + "\n".join(f"s{i}.nii,{i % 2}" for i in range(4)))
    cls = fingerprint(load_source(compose("train", ["data=nifti", f"data.path={tmp_path / 'cls'}",
                                                    "data.labels=labels.csv"]).data))
    assert cls["files"] == 5  # 4 volumes and the table
