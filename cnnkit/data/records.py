"""Sharded records: any source's raw splits written as TFRecord shards with a `records.json`.

`cnnkit data convert` writes each split as `DIR/<split>-<i>-of-<n>.tfrecord`; `data=records`
(`data/sources/records.py`) reads them back. Each record is one raw example as the source gives
it to the pipeline: `x` (and `y`, or `y/<head>` for a dict of targets) as the little-endian bytes
of a fixed-shape array, whose dtype and shape are stated once in `records.json`. Raw arrays rather
than the original encoded files because (1) every source works the same (arrays, tfds streams,
volumes, files decoded at `data.image_size`), (2) reading is pure TensorFlow (`decode_raw`, no
Pillow through `py_function`, no GIL), and (3) what is read back is bit-identical to what the
source gave, so a run on the records is the run on the source.

Layout: a split is striped over its shards, example i being record i // n of shard i % n. An
interleaved read of the n shards in order (one record of each in turn) therefore gives the
examples back in written order, and every shard is an even sample of the split: a worker that is
given some shards (file-based auto-sharding) sees every class, and shuffling the shard order
never makes runs of one class. Random-access training splits (files, arrays) are written in a
seeded permutation (`convert.shuffle`), so records read in order are already shuffled even when
the source lists a folder class by class.

Atomic: shards and `records.json` are written into a hidden sibling folder renamed to DIR at the
end, so a partial conversion never looks complete; readers trust only a `records.json`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit import __version__
from cnnkit.data.fingerprint import fingerprint
from cnnkit.data.pipeline import as_dataset, random_access, split_length
from cnnkit.data.sources import SourceData
from cnnkit.errors import ConfigError, DataError

log = logging.getLogger("cnnkit.data")

META_FILE = "records.json"
FORMAT = "cnnkit-records"
FORMAT_VERSION = 1
DEFAULT_SHARD_MB = 128.0
#: writers open at once while converting (striping writes to every shard of a split in turn);
#: a split above MAX_SHARDS x shard_mb gets larger shards
MAX_SHARDS = 512
RECORD_OVERHEAD = 64  # bytes of framing and proto keys per record, for the shard estimate
#: dtypes `tf.io.decode_raw` reads back
DTYPES = ("bool", "uint8", "int8", "uint16", "int16", "int32", "int64", "float16", "float32",
          "float64", "complex64", "complex128")


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord"


def flat_targets(y: Any) -> dict[str, np.ndarray]:
    """A raw target as record features: {"y": array}, or {"y/<head>": array} for a dict."""
    if isinstance(y, dict):
        return {f"y/{head}": np.asarray(y[head]) for head in sorted(y)}
    return {"y": np.asarray(y)}


def raw_examples(split: Any, order: np.ndarray | None = None) -> Iterator[tuple[Any, Any]]:
    """The raw (x, y) examples of a split, one at a time, in `order` (indices) where the split
    can be read by index, else in its own order. Arrays (possibly memory-mapped) are indexed
    here rather than copied into a TensorFlow constant; files are decoded in parallel as read."""
    if isinstance(split, tuple):
        x, y = split
        for i in range(len(x)) if order is None else order:
            yield x[i], ({k: v[i] for k, v in y.items()} if isinstance(y, dict) else y[i])
        return
    if order is not None and random_access(split):
        import tensorflow as tf

        yield from split.dataset(tf.data.Dataset.from_tensor_slices(order)).as_numpy_iterator()
        return
    yield from as_dataset(split).as_numpy_iterator()


def _spec(array: np.ndarray, what: str, split: str) -> dict[str, Any]:
    if array.dtype.name not in DTYPES:
        raise DataError(f"The {split} split's {what} are {array.dtype} arrays; records hold "
                        f"fixed-size numeric arrays ({', '.join(DTYPES)}).")
    return {"dtype": array.dtype.name, "shape": [int(d) for d in array.shape]}


def _example_bytes(features: dict[str, np.ndarray]) -> bytes:
    import tensorflow as tf

    def raw(array: np.ndarray) -> Any:
        little = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[little.tobytes()]))

    return tf.train.Example(features=tf.train.Features(
        feature={key: raw(value) for key, value in features.items()})).SerializeToString()


def shard_count(examples: int, example_bytes: int, shard_mb: float) -> int:
    """Shards for a split: about `shard_mb` each, at least one, at most one per example."""
    wanted = math.ceil(examples * (example_bytes + RECORD_OVERHEAD) / (shard_mb * 2**20))
    return max(1, min(wanted, MAX_SHARDS, examples))


class SplitWriter:
    """Writes one split, striped over its shards, checking every example against the first."""

    def __init__(self, folder: Path, split: str, shards: int) -> None:
        import tensorflow as tf

        self.names = [shard_name(split, i, shards) for i in range(shards)]
        self.writers = [tf.io.TFRecordWriter(str(folder / n)) for n in self.names]
        self.split, self.count = split, 0
        self.specs: dict[str, dict[str, Any]] = {}
        self._layout: list[tuple[str, Any, tuple[int, ...]]] = []  # the first's, to compare

    def write(self, x: Any, y: Any) -> None:
        features = {"x": np.asarray(x), **flat_targets(y)}
        layout = [(k, v.dtype, v.shape) for k, v in features.items()]
        if not self.specs:
            self.specs = {k: _spec(v, "inputs" if k == "x" else "targets", self.split)
                          for k, v in features.items()}
            self._layout = layout
        elif layout != self._layout:
            raise DataError(f"Example {self.count} of the {self.split} split is {layout}, unlike "
                            f"the first {self._layout}: records need one shape and dtype per "
                            "split.")
        self.writers[self.count % len(self.writers)].write(_example_bytes(features))
        self.count += 1

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


def _write_split(folder: Path, name: str, split: Any, shard_mb: float, order: np.ndarray | None,
                 progress: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """One split into `folder`; returns its entry in records.json and its feature specs."""
    import tensorflow as tf

    count = split_length(split)
    if count < 0:  # a stream of unknown length (filtered): one counting pass
        count = int(as_dataset(split).reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
    examples = raw_examples(split, order)
    first = next(examples, None)
    if first is None:
        raise DataError(f"The {name} split is empty: nothing to convert.")
    size = sum(a.nbytes for a in [np.asarray(first[0]), *flat_targets(first[1]).values()])
    writer = SplitWriter(folder, name, shard_count(count, size, shard_mb))
    task = progress.add_task(f"Writing the {name} split", total=count)
    try:
        writer.write(*first)
        for x, y in examples:
            writer.write(x, y)
            if writer.count % 256 == 0:
                progress.update(task, completed=writer.count)
    finally:
        writer.close()
    progress.update(task, completed=writer.count)
    shards = [{"file": n, "bytes": (folder / n).stat().st_size} for n in writer.names]
    return {"count": writer.count, "bytes": sum(s["bytes"] for s in shards), "shards": shards,
            "shuffled": order is not None}, writer.specs


def write_order(name: str, split: Any, shuffle: bool, seed: int) -> np.ndarray | None:
    """The order a split is written in: a seeded permutation of a training split that can be
    read by index (files, arrays), else None (its own order: val/test stay as the source has
    them, streams can only be read in order)."""
    if not shuffle or name != "train" or not (isinstance(split, tuple) or random_access(split)):
        return None
    return np.random.default_rng(seed).permutation(split_length(split)).astype("int64")


def convert_source(source: SourceData, output: Path, *, shard_mb: float = DEFAULT_SHARD_MB,
                   shuffle: bool = True, seed: int = 0, overwrite: bool = False,
                   about: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write every split of `source` as TFRecord shards in `output` with `records.json`; returns
    the metadata. `about`: what the config says of the data (source name and config, target
    kind, multilabel key, target names), stored for `data=records` to answer as the source did."""
    from rich.progress import Progress

    if shard_mb <= 0:
        raise ConfigError(f"`shard_mb` must be > 0. Received: {shard_mb!r}")
    output = Path(output).expanduser()
    claim_output(output, overwrite)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.parent / f".{output.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    start = time.perf_counter()
    try:
        splits: dict[str, Any] = {}
        specs: dict[str, Any] = {}
        with Progress(transient=True) as progress:
            for name, split in source.splits.items():
                order = write_order(name, split, shuffle, seed)
                splits[name], found = _write_split(tmp, name, split, shard_mb, order, progress)
                if specs and found != specs:
                    raise DataError(f"The {name} split's examples are {found}, unlike the "
                                    f"other splits' {specs}.")
                specs = found
        meta = metadata(source, splits, specs, about or {})
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        _put_in_place(tmp, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - start
    total = sum(s["bytes"] for s in splits.values())
    log.info("Wrote %d examples (%.2f GB) in %.1f s (%.0f examples/s, %.0f MB/s) to %s",
             sum(s["count"] for s in splits.values()), total / 2**30, seconds,
             sum(s["count"] for s in splits.values()) / max(seconds, 1e-9),
             total / 2**20 / max(seconds, 1e-9), output)
    return meta


def convert_data(data_cfg: Any, output: Path, **options: Any) -> dict[str, Any]:
    """Load the configured source and convert it (`convert_source`'s options), recording what
    its config says of the targets so `data=records` answers the validation pass as it did."""
    from cnnkit.config.plain import to_plain
    from cnnkit.data.sources import data_provides, data_target_names, load_source, multilabel_data

    source = load_source(data_cfg)
    provided = data_provides(data_cfg)
    about = {"source": str(data_cfg.source), "config": to_plain(data_cfg),
             "target_kind": provided[0] if provided else None,
             "multilabel": multilabel_data(data_cfg), "target_names": data_target_names(data_cfg)}
    return convert_source(source, output, about=about, **options)


def metadata(source: SourceData, splits: dict[str, Any], specs: dict[str, Any],
             about: dict[str, Any]) -> dict[str, Any]:
    """The content of records.json."""
    targets = {k.removeprefix("y/"): v for k, v in specs.items() if k.startswith("y/")}
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "cnnkit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "layout": "striped: example i of a split is record i // n of shard i % n (n shards)",
        "x": specs["x"], "y": specs.get("y", {"heads": targets}),
        "class_names": source.class_names, "value_max": float(source.value_max),
        "target_kind": about.get("target_kind"), "multilabel": about.get("multilabel"),
        "target_names": about.get("target_names"),
        "source": {"name": about.get("source"), "config": about.get("config"),
                   "description": source.meta.get("description"),
                   "fingerprint": fingerprint(source)},
        "splits": splits,
    }


def claim_output(output: Path, overwrite: bool) -> None:
    """Refuse an output folder that holds anything but an earlier conversion (`overwrite=true`
    replaces that one)."""
    if not output.exists():
        return
    if not output.is_dir():
        raise ConfigError(f"`output` is a file, not a folder. Received: {str(output)!r}")
    if (output / META_FILE).is_file() and not overwrite:
        raise ConfigError(f"`output` holds records already ({output / META_FILE}). Pass "
                          "overwrite=true to replace them, or choose another folder.")
    if not (output / META_FILE).is_file() and any(output.iterdir()):
        raise ConfigError(f"`output` is a folder that holds other files ({str(output)!r}). "
                          "Expected a new or empty folder.")


def _put_in_place(tmp: Path, output: Path) -> None:
    """Rename the finished folder to `output` (an earlier conversion there is replaced)."""
    old = output.parent / f".{output.name}.old-{os.getpid()}"
    if output.exists():
        os.replace(output, old)
    os.replace(tmp, output)
    shutil.rmtree(old, ignore_errors=True)


def read_metadata(root: Path, key: str = "data.path") -> dict[str, Any]:
    """records.json of `root`, checked (no TensorFlow); a one-line DataError when it is missing
    or is not cnnkit records."""
    meta_path = Path(root).expanduser() / META_FILE
    if not meta_path.is_file():
        hint = " (a conversion was interrupted: run it again)" if any(
            Path(root).expanduser().glob("*.tfrecord")) else ""
        raise DataError(f"`{key}` holds no {META_FILE}: {meta_path} is missing{hint}. Make "
                        f"records with `cnnkit data convert data=SOURCE [data.KEY=...] "
                        f"output={root}`.")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read {meta_path}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{meta_path} does not describe cnnkit records (expected \"format\": "
                        f"\"{FORMAT}\").")
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{meta_path} is format version {meta.get('format_version')}; this "
                        f"cnnkit reads version {FORMAT_VERSION}. Convert the data again.")
    return meta


def check_shards(root: Path, meta: dict[str, Any]) -> None:
    """Every shard records.json lists is present with the size it was written with (a stat per
    shard: cheap, and it catches a truncated copy)."""
    for name, split in meta["splits"].items():
        for shard in split["shards"]:
            path = Path(root).expanduser() / shard["file"]
            if not path.is_file():
                raise DataError(f"Shard {path} of the {name} split is missing ({META_FILE} lists "
                                f"{len(split['shards'])} shards for it). Copy it back or convert "
                                "the data again.")
            if path.stat().st_size != shard["bytes"]:
                raise DataError(f"Shard {path} is {path.stat().st_size} bytes but was written "
                                f"with {shard['bytes']} ({META_FILE}): it is truncated or was "
                                "changed. Copy it again or convert the data again.")
