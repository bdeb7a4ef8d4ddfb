"""Where decoded examples are kept between epochs: `data.cache=auto|memory|disk|none`.

`memory` keeps the prepared examples (float32 at the model's input size) in RAM; `disk` writes a
split of files, decoded once at the model's input size, to one record file in a cache folder keyed
by the files (names, sizes, modification times) and the decoding, which later runs reuse; `none`
decodes every file in every epoch. `auto` (the default) takes memory while the split fits
`data.cache_budget_gb` (default: half the memory available when the run starts), else disk for
files and none for arrays, which are in memory already. `true`/`false` mean memory/none.

Records are read with `os.pread`, not a memory map: touched pages of a map count in the process's
resident memory, which would grow with the dataset.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.file_splits import FileSplit
from cnnkit.errors import ConfigError

log = logging.getLogger("cnnkit.data")

CACHE_MODES = ("auto", "memory", "disk", "none")
DEFAULT_BUDGET_FRACTION = 0.5
FORMAT = 1  # bump when the record layout changes: old caches are then ignored


def cache_mode(value: Any) -> str:
    """The configured mode, with the old booleans mapped (true: memory, false: none)."""
    if isinstance(value, bool):
        return "memory" if value else "none"
    if value is None:
        return "none"
    if str(value) not in CACHE_MODES:
        raise ConfigError(f"`data.cache` must be one of {', '.join(CACHE_MODES)}. "
                          f"Received: {value!r}")
    return str(value)


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def memory_budget(budget_gb: float | None) -> int:
    """The bytes `auto` may keep in memory: `data.cache_budget_gb`, else half what is free."""
    if budget_gb is not None:
        return int(float(budget_gb) * 2**30)
    return int(DEFAULT_BUDGET_FRACTION * available_memory())


def cache_root(cache_dir: str | None) -> Path:
    """`data.cache_dir`, else $CNNKIT_CACHE_DIR, else ~/.cache/cnnkit/data (XDG_CACHE_HOME)."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("CNNKIT_CACHE_DIR"):
        return Path(os.environ["CNNKIT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cnnkit" / "data"


@dataclass
class DiskCachedSplit:
    """A `FileSplit` decoded once into a record file: the same examples, read in any order."""

    split: FileSplit
    path: Path
    readable: np.ndarray  # indices of the examples that decoded (bad files left out)

    def __post_init__(self) -> None:
        self._x_bytes = int(np.prod(self.split.decoder.shape)) * np.dtype(self.split.decoder.dtype).itemsize
        mask = self.split.mask_decoder
        self._y_bytes = (int(np.prod(mask.shape)) * np.dtype(mask.dtype).itemsize) if mask else 0
        self._fd: int | None = None

    def __len__(self) -> int:
        return len(self.readable)

    @property
    def raw_shape(self) -> list[int]:
        return self.split.raw_shape

    @property
    def targets(self) -> np.ndarray:
        return self.split.targets[self.readable]

    @property
    def mask_decoder(self) -> Any:
        return self.split.mask_decoder

    def read(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """The `position`-th readable example."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        index = int(self.readable[position])
        size = self._x_bytes + self._y_bytes
        record = os.pread(self._fd, size, index * size)
        decoder = self.split.decoder
        x = np.frombuffer(record, decoder.dtype, count=int(np.prod(decoder.shape))).reshape(
            decoder.shape)
        mask = self.split.mask_decoder
        if mask is None:
            return x, np.asarray(self.split.targets[index])
        y = np.frombuffer(record, mask.dtype, offset=self._x_bytes).reshape(mask.shape)
        return x, y

    def dataset(self, positions: Any) -> Any:
        import tensorflow as tf

        y_dtype, y_shape = self.split.target_spec()

        def read(position: Any) -> Any:
            x, y = tf.numpy_function(lambda p: self.read(int(p)), [position],
                                     [tf.as_dtype(self.split.decoder.dtype), tf.as_dtype(y_dtype)],
                                     stateful=False)
            x.set_shape(self.split.decoder.shape)
            y.set_shape(y_shape)
            return x, y

        return positions.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def cache_key(split: FileSplit) -> str:
    """Names, sizes and modification times of the split's files, and how they are decoded."""
    digest = hashlib.sha256(f"cnnkit-cache {FORMAT} {split.decoder} {split.mask_decoder}".encode())
    targets = split.targets.astype(str) if split.mask_decoder else []
    for path in [*split.files, *targets]:
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def disk_cached(split: FileSplit, root: Path, name: str) -> DiskCachedSplit:
    """`split` decoded into `root/<key>.records` (written on first use, atomically; reused)."""
    key = cache_key(split)
    records, index = root / f"{key}.records", root / f"{key}.json"
    if records.is_file() and index.is_file():
        readable = np.asarray(json.loads(index.read_text())["readable"], "int64")
        log.info("Reading the %s split from the disk cache %s", name, records)
        return DiskCachedSplit(split, records, readable)
    root.mkdir(parents=True, exist_ok=True)
    readable = _write_records(split, records, name)
    tmp = index.with_suffix(f".json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"files": len(split), "readable": readable.tolist(),
                               "decoder": str(split.decoder)}))
    os.replace(tmp, index)
    return DiskCachedSplit(split, records, readable)


def _write_records(split: FileSplit, records: Path, name: str) -> np.ndarray:
    """Decode every file of `split` through the pipeline's parallel reader, in order, into
    fixed-size records (an unreadable file's record stays zero and is not listed readable)."""
    import tensorflow as tf
    from rich.progress import Progress

    tmp = records.with_suffix(f".records.{os.getpid()}.tmp")  # workers may share a cache
    readable, start = [], time.perf_counter()
    record = np.zeros(split.decoder.shape, split.decoder.dtype).nbytes
    if split.mask_decoder is not None:
        record += np.zeros(split.mask_decoder.shape, split.mask_decoder.dtype).nbytes
    decoded = split.dataset(tf.data.Dataset.range(len(split)), with_index=True)
    with open(tmp, "wb") as out, Progress(transient=True) as progress:
        task = progress.add_task(f"Caching the {name} split (decoded once)", total=len(split))
        for x, y, index in decoded.prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
            out.seek(int(index) * record)
            out.write(x.tobytes())
            if split.mask_decoder is not None:
                out.write(y.tobytes())
            readable.append(int(index))
            progress.advance(task)
        out.truncate(len(split) * record)
    os.replace(tmp, records)
    seconds = time.perf_counter() - start
    log.info("Cached the %s split: %d images decoded in %.0f s (%.0f images/s) into %s (%.2f GB); "
             "later runs on the same files reuse it", name, len(split), seconds,
             len(split) / max(seconds, 1e-9), records, records.stat().st_size / 2**30)
    return np.asarray(readable, "int64")
