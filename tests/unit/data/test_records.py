"""Writing sharded records (cnnkit/data/records.py): round trips of every kind of raw example,
the striped layout, atomic output, and a folder of files streamed rather than loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.data import file_splits
from cnnkit.data.records import (
    META_FILE,
    convert_source,
    raw_examples,
    read_metadata,
    shard_count,
)
from cnnkit.data.sources import SourceData, load_source
from cnnkit.errors import CnnkitError, ConfigError, DataError

RNG = np.random.default_rng(0)
N = 37  # not a multiple of the shard count: the last round of the stripes is partial


def arrays(dtype: str, shape: tuple[int, ...], top: int = 255) -> np.ndarray:
    values = RNG.integers(0, top + 1, (N, *shape)) if top > 1 else RNG.random((N, *shape))
    return values.astype(dtype)


#: raw (x, y) pairs as sources give them: image labels, regression values, 16-bit images with
#: masks, multi-hot labels, boolean inputs, and a dict of targets (multi-task)
CASES = {
    "uint8 images, labels": (arrays("uint8", (6, 5, 3)), arrays("int32", (), 9)),
    "float32 volumes, values": (arrays("float32", (4, 3, 2, 1), 1), arrays("float32", (2,), 1)),
    "uint16 images, masks": (arrays("uint16", (6, 5, 1), 65535), arrays("uint8", (6, 5, 1), 3)),
    "multi-hot": (arrays("float32", (8, 8, 1), 1), arrays("float32", (5,), 1).round()),
    "bool, int64": (arrays("uint8", (3, 3, 1), 1).astype(bool), arrays("int64", (), 2**40)),
    "dict targets": (arrays("uint8", (6, 5, 1)), {"class": arrays("int32", (), 3),
                                                  "mask": arrays("uint8", (6, 5, 1), 1)}),
}


def records_cfg(path: Path, **keys: object) -> object:
    return OmegaConf.create({"source": "records", "path": str(path), "shuffle_shards": False,
                             **keys})


def read_back(path: Path, split: str = "train", **keys: object) -> tuple[np.ndarray, object]:
    ds = load_source(records_cfg(path, **keys)).split(split)
    xs, ys = zip(*ds.as_numpy_iterator(), strict=True)
    y = ({k: np.stack([v[k] for v in ys]) for k in ys[0]} if isinstance(ys[0], dict)
         else np.stack(ys))
    return np.stack(xs), y


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("records")
    out = {}
    for i, (name, (x, y)) in enumerate(CASES.items()):
        source = SourceData({"train": (x, y), "val": (x[:5], {k: v[:5] for k, v in y.items()}
                                                      if isinstance(y, dict) else y[:5])},
                            class_names=["a", "b"], value_max=255.0,
                            meta={"description": name})
        out[name] = root / f"case{i}"
        convert_source(source, out[name], shard_mb=x[0].nbytes * 6 / 2**20, shuffle=False)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_raw_examples_come_back_bit_identical_and_in_order(converted, name) -> None:
    x, y = CASES[name]
    got_x, got_y = read_back(converted[name])
    assert got_x.dtype == x.dtype and np.array_equal(got_x, x)
    if isinstance(y, dict):
        assert set(got_y) == set(y)
        assert all(got_y[k].dtype == y[k].dtype and np.array_equal(got_y[k], y[k]) for k in y)
    else:
        assert got_y.dtype == y.dtype and np.array_equal(got_y, y)
    meta = read_metadata(converted[name])
    assert len(meta["splits"]["train"]["shards"]) >= 5  # several shards: the stripes interleave
    assert meta["splits"]["train"]["count"] == N and meta["splits"]["val"]["count"] == 5


def test_records_json_describes_the_examples(converted) -> None:
    meta = json.loads((converted["dict targets"] / META_FILE).read_text())
    assert meta["x"] == {"dtype": "uint8", "shape": [6, 5, 1]}
    assert meta["y"] == {"heads": {"class": {"dtype": "int32", "shape": []},
                                   "mask": {"dtype": "uint8", "shape": [6, 5, 1]}}}
    assert meta["class_names"] == ["a", "b"] and meta["value_max"] == 255.0
    assert meta["source"]["fingerprint"]["kind"] == "arrays" and meta["cnnkit_version"]
    shard = meta["splits"]["train"]["shards"][0]
    assert shard["file"] == f"train-00000-of-{len(meta['splits']['train']['shards']):05d}.tfrecord"
    assert shard["bytes"] == (converted["dict targets"] / shard["file"]).stat().st_size


def test_shuffled_shard_order_reads_every_example_once(converted) -> None:
    x, y = CASES["uint8 images, labels"]
    got_x, got_y = read_back(converted["uint8 images, labels"], shuffle_shards=True,
                             parallel_reads=2)
    assert not np.array_equal(got_y, y)  # another order...
    order = np.argsort([row.tobytes() for row in got_x])
    expected = np.argsort([row.tobytes() for row in x])
    assert np.array_equal(got_x[order], x[expected]) and np.array_equal(got_y[order], y[expected])


def test_the_training_split_is_written_in_a_seeded_permutation(tmp_path) -> None:
    x, y = CASES["uint8 images, labels"]
    source = SourceData({"train": (x, y), "val": (x, y)}, meta={"description": "arrays"})
    meta = convert_source(source, tmp_path / "out", shuffle=True, seed=7)
    assert meta["splits"]["train"]["shuffled"] and not meta["splits"]["val"]["shuffled"]
    order = np.random.default_rng(7).permutation(N)
    got_x, got_y = read_back(tmp_path / "out")
    assert np.array_equal(got_x, x[order]) and np.array_equal(got_y, y[order])
    assert np.array_equal(read_back(tmp_path / "out", "val")[0], x)  # val keeps its order


def test_shards_aim_at_the_size_asked_for() -> None:
    assert shard_count(100_000, 150_528, 128) == 113  # 224x224x3 uint8: ~128 MB each
    assert shard_count(10, 10, 128) == 1 and shard_count(3, 2**30, 128) == 3  # one per example
    assert shard_count(10**9, 2**20, 128) == 512  # capped: larger shards past 64 GB


def test_a_failed_conversion_leaves_no_records(tmp_path) -> None:
    x, y = CASES["uint8 images, labels"]
    source = SourceData({"train": (x, y), "val": (x.astype("float32"), y)})
    with pytest.raises(DataError, match=r"val split's examples .* unlike the other splits'"):
        convert_source(source, tmp_path / "out")
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []


def test_output_holding_other_files_or_records_is_refused(tmp_path) -> None:
    x, y = CASES["uint8 images, labels"]
    source = SourceData({"train": (x, y)})
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"`output` is a folder that holds other files"):
        convert_source(source, tmp_path / "busy")
    convert_source(source, tmp_path / "out")
    with pytest.raises(ConfigError, match=r"holds records already.*overwrite=true"):
        convert_source(source, tmp_path / "out")
    convert_source(SourceData({"train": (x[:4], y[:4])}), tmp_path / "out", overwrite=True)
    assert read_metadata(tmp_path / "out")["splits"]["train"]["count"] == 4


def test_strings_are_refused_by_name(tmp_path) -> None:
    source = SourceData({"train": (np.zeros((3, 2), "uint8"), np.array(["a", "b", "c"]))})
    with pytest.raises(DataError, match=r"train split's targets are <U1 arrays"):
        convert_source(source, tmp_path / "out")


@pytest.fixture(scope="module")
def png_folder(tmp_path_factory) -> Path:
    from PIL import Image

    root = tmp_path_factory.mktemp("pngs")
    for label in range(3):
        (root / str(label)).mkdir()
        for i in range(40):
            Image.fromarray(RNG.integers(0, 256, (8, 8), dtype="uint8")).save(
                root / str(label) / f"{i}.png")
    return root


def test_a_folder_of_files_is_decoded_as_it_is_written_not_first(png_folder, tmp_path) -> None:
    # on_bad_file=skip: every file through the Python reader, which counts its decodes (PNGs
    # otherwise decode in TensorFlow's ops, through the same stream)
    cfg = OmegaConf.create({"source": "folder", "path": str(png_folder), "val_fraction": 0.0,
                            "test_fraction": 0.0, "on_bad_file": "skip"})
    split = load_source(cfg).split("train")
    before = file_splits.DECODES["count"]
    examples = raw_examples(split)
    next(examples)
    assert file_splits.DECODES["count"] - before < len(split) // 2  # a few in flight, not all
    assert sum(1 for _ in examples) == len(split) - 1
    assert file_splits.DECODES["count"] - before == len(split)  # each file decoded once

    convert_source(load_source(cfg), tmp_path / "out", shuffle=False, shard_mb=0.001)
    decodes = file_splits.DECODES["count"]
    got_x, got_y = read_back(tmp_path / "out")
    assert file_splits.DECODES["count"] == decodes  # records hold the decoded pixels
    x, y = split.arrays()
    assert np.array_equal(got_x, x) and np.array_equal(got_y, y)


def test_missing_records_json_names_the_file_and_how_to_make_it(tmp_path) -> None:
    with pytest.raises(DataError) as error:
        read_metadata(tmp_path)
    message = str(error.value)
    assert f"{tmp_path / META_FILE} is missing" in message and "cnnkit data convert" in message
    assert "\n" not in message and isinstance(error.value, CnnkitError)
