"""`data=records`: the validation pass's check and answers, known lengths, and shards that
tf.distribute's file-based auto-sharding splits among workers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.data.pipeline import split_length, steps_per_epoch
from cnnkit.data.records import convert_source
from cnnkit.data.sources import SourceData, check_source, load_source
from cnnkit.data.sources.records import RecordsSchema
from cnnkit.errors import DataError

COUNT = 50


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    x = np.arange(COUNT * 4, dtype="uint8").reshape(COUNT, 2, 2, 1)
    y = (np.arange(COUNT) % 5).astype("int32")
    source = SourceData({"train": (x, y), "val": (x[:10], y[:10])}, class_names=list("abcde"),
                        value_max=255.0)
    root = tmp_path_factory.mktemp("records") / "out"
    convert_source(source, root, shard_mb=720 / 2**20, shuffle=False,
                   about={"source": "numpy", "target_kind": "label", "multilabel": None,
                          "target_names": None})
    return root


def cfg(path: Path, **keys: object) -> object:
    return OmegaConf.create({"source": "records", "path": str(path), **keys})


def test_the_splits_have_known_lengths_without_a_counting_pass(records) -> None:
    data = load_source(cfg(records))
    assert split_length(data.split("train")) == COUNT and split_length(data.split("val")) == 10
    assert steps_per_epoch(data.split("train"), 8) == 7
    assert data.class_names == list("abcde") and data.value_max == 255.0
    assert len(data.meta["read_files"]) == 1 + 5 + 1  # records.json and every shard
    limited = load_source(cfg(records, max_samples=20))
    assert split_length(limited.split("train")) == 20


def test_the_validation_pass_answers_from_records_json(records, tmp_path) -> None:
    values = {"path": str(records)}
    assert RecordsSchema.provides(values)[0] == "label"
    assert "converted from data.source=numpy" in RecordsSchema.provides(values)[1]
    assert RecordsSchema.rank(values) == 2
    assert RecordsSchema.provides({"path": str(tmp_path)}) is None  # the check reports it


def test_a_missing_shard_is_named(records, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(records, copy)
    (copy / "train-00003-of-00005.tfrecord").unlink()
    with pytest.raises(DataError, match=r"Shard .*train-00003-of-00005.tfrecord of the train split "
                                        r"is missing \(records.json lists 5 shards"):
        check_source(cfg(copy))


def test_a_truncated_shard_is_named(records, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(records, copy)
    shard = copy / "val-00000-of-00001.tfrecord"
    shard.write_bytes(shard.read_bytes()[:-3])
    with pytest.raises(DataError, match=r"val-00000-of-00001.tfrecord is \d+ bytes but was "
                                        r"written with \d+"):
        check_source(cfg(copy))


def test_a_folder_without_records_json_says_how_to_make_one(tmp_path) -> None:
    (tmp_path / "train-00000-of-00001.tfrecord").write_bytes(b"")
    with pytest.raises(DataError, match=r"`data.path` holds no records.json: .* is missing \(a "
                                        r"conversion was interrupted.*cnnkit data convert"):
        check_source(cfg(tmp_path))


def test_file_auto_sharding_gives_each_worker_whole_shards(records) -> None:
    import tensorflow as tf
    from tensorflow.python.data.experimental.ops import distribute  # what tf.distribute applies

    for shuffle in (False, True):
        ds = load_source(cfg(records, shuffle_shards=shuffle)).split("train")
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.FILE
        seen = []
        for worker in range(2):
            shard = distribute._AutoShardDataset(ds.with_options(options), 2, worker, 2)
            seen.append(sorted(int(x.reshape(-1)[0]) // 4 for x, _ in shard.as_numpy_iterator()))
        # striped over 5 shards: worker 0 reads shards 0, 2, 4 and worker 1 shards 1, 3
        assert seen[0] == [i for i in range(COUNT) if i % 5 in (0, 2, 4)], shuffle
        assert seen[1] == [i for i in range(COUNT) if i % 5 in (1, 3)], shuffle
