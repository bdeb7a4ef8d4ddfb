"""TFRecord shards written by `cnnkit data convert` (format: `cnnkit/data/records.py`).

Each split is a tf.data stream of the raw (x, y) examples the converted source gave: the shards
are read by a parallel interleave, parsed a batch at a time (`tf.io.parse_example`, then
`tf.io.decode_raw`) and handed to the pipeline like a tfds split, so preprocessing, caching and
augmentation are unchanged. The dataset starts from the list of shard files, so tf.distribute's
file-based auto-sharding (`AutoShardPolicy.FILE`, tried first by `AUTO`) gives each worker whole
shards; its length comes from records.json (`assert_cardinality`), so steps per epoch and the
cache budget need no counting pass.

Order: records are read in order, so `data.shuffle_buffer` shuffles them as it does tfds streams,
and with `data.shuffle_shards` the shard order is drawn anew each pass (from `data.seed`). A full
permutation every epoch needs `data.cache=memory` (`auto` takes it when the split fits the budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnkit.config.check import setting
from cnnkit.data.records import META_FILE, check_shards, read_metadata
from cnnkit.data.sources import SOURCES, CommonDataSchema, SourceData, typed_data_config
from cnnkit.errors import CnnkitError, ConfigError

#: records parsed per `parse_example` call (batched parsing is several times faster than one
#: `parse_single_example` per record)
PARSE_BATCH = 64


@dataclass
class RecordsSchema(CommonDataSchema):
    source: str = "records"
    path: str = ""
    shuffle_shards: bool = True  # draw the shard order anew each pass; false: written order
    parallel_reads: int = setting(16, min=1)  # shards read at once when their order is shuffled

    @staticmethod
    def provides(values: dict[str, Any]) -> tuple[Any, str] | None:
        meta = _metadata_or_none(values)
        if meta is None or meta.get("target_kind") is None:
            return None
        return meta["target_kind"], (f"{META_FILE} of data.path (converted from "
                                     f"data.source={meta['source'].get('name')})")

    @staticmethod
    def rank(values: dict[str, Any]) -> int | None:
        meta = _metadata_or_none(values)
        return len(meta["x"]["shape"]) - 1 if meta else None

    @staticmethod
    def multilabel(values: dict[str, Any]) -> str | None:
        meta = _metadata_or_none(values)
        return f"{META_FILE} of data.path ({meta['multilabel']})" if meta and meta.get(
            "multilabel") else None

    @staticmethod
    def target_names(values: dict[str, Any]) -> list[str] | None:
        meta = _metadata_or_none(values)
        return meta.get("target_names") if meta else None


def _metadata_or_none(values: dict[str, Any]) -> dict[str, Any] | None:
    """records.json for the validation pass's questions; None when absent (the check says so)."""
    try:
        return read_metadata(records_root(str(values.get("path") or "")))
    except CnnkitError:  # the source's check reports what is wrong
        return None


def records_root(path: str) -> Path:
    if not path:
        raise ConfigError("`data.path` is required: the folder `cnnkit data convert` wrote.")
    return Path(path).expanduser()


def check_records(data_cfg: Any, config: Any = None) -> None:
    """records.json readable and every shard present at its size (no TensorFlow)."""
    root = records_root(typed_data_config(RecordsSchema, data_cfg).path)
    check_shards(root, read_metadata(root))


def read_split(root: Path, meta: dict[str, Any], name: str, shuffle_shards: bool, seed: int,
               parallel_reads: int) -> Any:
    """One split as a tf.data.Dataset of raw (x, y), of known length."""
    import tensorflow as tf

    split = meta["splits"][name]
    files = [str(root / shard["file"]) for shard in split["shards"]]
    autotune = tf.data.AUTOTUNE
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_shards and len(files) > 1:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    # all shards at once when read in order: one record of each in turn is the written order
    cycle = min(len(files), parallel_reads) if shuffle_shards else len(files)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=cycle, block_length=1,
                       num_parallel_calls=autotune, deterministic=True)
    ds = ds.batch(PARSE_BATCH).map(parser(meta), num_parallel_calls=autotune).unbatch()
    return ds.apply(tf.data.experimental.assert_cardinality(int(split["count"])))


def parser(meta: dict[str, Any]) -> Any:
    """A batch of serialised records -> (x, y) batches, as records.json describes them."""
    import tensorflow as tf

    heads = meta["y"].get("heads")
    specs = {"x": meta["x"], **({f"y/{h}": s for h, s in heads.items()} if heads
                                else {"y": meta["y"]})}
    features = {key: tf.io.FixedLenFeature([], tf.string) for key in specs}

    def parse(serialised: Any) -> tuple[Any, Any]:
        parsed = tf.io.parse_example(serialised, features)
        arrays = {key: tf.reshape(tf.io.decode_raw(parsed[key], tf.as_dtype(spec["dtype"])),
                                  [-1, *spec["shape"]]) for key, spec in specs.items()}
        y = {h: arrays[f"y/{h}"] for h in heads} if heads else arrays["y"]
        return arrays["x"], y

    return parse


@SOURCES.register("records", schema=RecordsSchema, check=check_records)
def load_records_source(data_cfg: Any) -> SourceData:
    """The splits of a converted dataset, read from its shards as the pipeline iterates."""
    cfg = typed_data_config(RecordsSchema, data_cfg)
    root = records_root(cfg.path)
    meta = read_metadata(root)
    splits = {name: read_split(root, meta, name, cfg.shuffle_shards, cfg.seed, cfg.parallel_reads)
              for name in meta["splits"]}
    shards = [root / s["file"] for split in meta["splits"].values() for s in split["shards"]]
    return SourceData(splits=splits, class_names=meta.get("class_names"),
                      value_max=float(meta["value_max"]),
                      meta={"description": f"records {root} (converted from "
                                           f"{meta['source'].get('description')})",
                            "records": {"path": str(root), "converted_from": meta["source"]},
                            "read_files": [root / META_FILE, *shards]})
