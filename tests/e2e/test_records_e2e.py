"""Must-show 3 of issue 12: `cnnkit data convert` then `data=records` trains to the same validation
accuracy as the source it was converted from (the digits, read back bit-identical)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cnnkit.config.compose import compose
from cnnkit.data.sources import load_source

pytestmark = pytest.mark.slow

TRAIN = ["trainer.epochs=2", "trainer.verbose=0", "trainer.deterministic=true"]
#: shards read in written order, written in the source's order: the very stream of the source
ORDERED = ["data.shuffle_shards=false"]


def val_metrics(overrides: list[str], run: Path) -> dict:
    from cnnkit.commands.train import run as train

    train(compose("train", [*overrides, *TRAIN]), run)
    return json.loads((run / "metrics.json").read_text())


def test_converted_digits_train_to_the_source_s_validation_accuracy(cli, tmp_path) -> None:
    out = tmp_path / "digits_records"
    result = cli("data", "convert", f"output={out}", "shard_mb=0.05", "shuffle=false")
    assert "train: 1257 examples in 8 shards" in result.stdout
    assert f"data=records data.path={out}" in result.stdout
    assert (out / "train-00007-of-00008.tfrecord").is_file() and (out / "records.json").is_file()
    records = ["data=records", f"data.path={out}", *ORDERED]

    source, converted = (load_source(compose("train", o).data) for o in ([], records))
    for name, (x, y) in source.splits.items():
        got = list(converted.split(name).as_numpy_iterator())
        assert np.array_equal(np.stack([e[0] for e in got]), x), name  # bit-identical, in order
        assert np.array_equal(np.stack([e[1] for e in got]), y), name

    digits = val_metrics([], tmp_path / "digits")
    on_records = val_metrics(records, tmp_path / "records")
    assert digits["val_accuracy"] > 0.8  # it learned (10 classes)
    assert on_records["val_accuracy"] == digits["val_accuracy"]
    assert on_records["val_loss"] == pytest.approx(digits["val_loss"], abs=1e-6)


def test_convert_and_records_errors_are_one_line(cli, tmp_path) -> None:
    missing = cli("data", "convert", check=False)
    assert missing.returncode == 2 and "`convert.output` is required" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    train = cli("train", "data=records", f"data.path={empty}", check=False)
    assert train.returncode == 2 and f"{empty / 'records.json'} is missing" in train.stderr
    assert "cnnkit data convert" in train.stderr and "Traceback" not in train.stderr
