"""A fingerprint of the data a run read, for its manifest: did two runs see the same data?

File sources (folder, csv, numpy, nifti, the shards of a prepared tfds dataset) list the files
they read in `SourceData.meta["read_files"]`. Those are fingerprinted by name and size and by a
streamed SHA-256 of their content: every byte while the files add up to at most `budget`, else
an evenly spaced sample of files (head and tail of each) plus every file's modification time,
so a dataset of any size is fingerprinted in about a second. Sources that make their examples
in memory (digits, shapes, signals, volumes, keras datasets) are fingerprinted by their arrays,
after `data.max_samples`. The result says which of these it did.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: files adding up to at most this many bytes are hashed in full; above it, a sample is
CONTENT_BUDGET = 64 * 2**20
#: a sampled file larger than twice this is hashed by its first and last BLOCK bytes
BLOCK = 2**20
#: at most this many files are opened for a sample (opening dominates for small images)
MAX_SAMPLED_FILES = 1024


def files_read(splits: dict[str, tuple[Any, Any]], targets_are_files: bool = False,
               extra: Iterable[Path] = ()) -> list[Path]:
    """The files behind a file source's carved splits (split -> (paths, targets)): its inputs,
    the targets too when they are files (masks), and `extra` (a CSV table, say)."""
    files = [Path(p) for x, _ in splits.values() for p in x]
    if targets_are_files:
        files += [Path(str(t)) for _, y in splits.values() for t in y]
    return [*extra, *files]


def fingerprint(source: Any) -> dict[str, Any]:
    """What identifies the data of `source` (a `SourceData`): a dict with a `sha256` that is
    equal for equal data, `kind` (files | arrays | tfds | unknown) and what was hashed."""
    meta = source.meta
    out: dict[str, Any] = {"description": meta.get("description")}
    if "tfds" in meta:
        out.update(kind="tfds", **meta["tfds"])
    if meta.get("read_files") is not None:
        out.setdefault("kind", "files")
        out.update(fingerprint_files(meta["read_files"]))
    elif all(isinstance(split, tuple) for split in source.splits.values()):
        out.update(kind="arrays", **fingerprint_arrays(source.splits))
    else:
        out.setdefault("kind", "unknown")
        out.update(sha256=None, content="not hashed: the splits are tf.data pipelines")
    return out


def fingerprint_files(paths: Iterable[Path], budget: int = CONTENT_BUDGET) -> dict[str, Any]:
    """Names (relative to their common folder), sizes and content of `paths`; see the module.
    Plain strings and os.stat: Path.resolve and relative_to took 3 s for 20,000 files here."""
    files = sorted({os.path.abspath(p) for p in paths})
    if not files:
        return {"sha256": hashlib.sha256().hexdigest(), "files": 0, "bytes": 0,
                "content": "no files"}
    root = os.path.commonpath(files) if len(files) > 1 else os.path.dirname(files[0])
    stats = [os.stat(f) for f in files]
    total = sum(s.st_size for s in stats)
    full = total <= budget
    if full:
        sample: Iterable[int] = range(len(files))
        content = f"all {len(files)} files hashed in full"
    else:
        mean = max(1, sum(min(s.st_size, 2 * BLOCK) for s in stats) // len(files))
        count = min(len(files), MAX_SAMPLED_FILES, max(1, budget // mean))
        sample = sorted({round(i * (len(files) - 1) / max(count - 1, 1)) for i in range(count)})
        content = (f"{len(sample)} of {len(files)} files hashed (evenly spaced; files over "
                   f"{2 * BLOCK // 2**20} MiB by their first and last {BLOCK // 2**20} MiB); "
                   "every file's name, size and modification time")
    digest = hashlib.sha256()
    for path, stat in zip(files, stats, strict=True):
        name = path[len(root):].lstrip(os.sep).replace(os.sep, "/")
        digest.update(f"{name}\0{stat.st_size}".encode())
        digest.update(b"\n" if full else f"\0{stat.st_mtime_ns}\n".encode())
    for index in sample:
        digest.update(_content_digest(Path(files[index]), whole=full))
    return {"sha256": digest.hexdigest(), "files": len(files), "bytes": total,
            "root": root, "content": content}


def _content_digest(path: Path, whole: bool) -> bytes:
    """SHA-256 of a file streamed in blocks: all of it, or (`whole=False`, large files) its
    first and last BLOCK bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if whole or size <= 2 * BLOCK:
            for block in iter(lambda: handle.read(BLOCK), b""):
                digest.update(block)
        else:
            digest.update(handle.read(BLOCK))
            handle.seek(size - BLOCK)
            digest.update(handle.read(BLOCK))
    return digest.digest()


def fingerprint_arrays(splits: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """SHA-256 over every split's arrays (dtype, shape and bytes), splits in name order."""
    digest = hashlib.sha256()
    total = 0
    examples = {}
    for name in sorted(splits):
        x, y = splits[name]
        examples[name] = len(x)
        digest.update(f"split {name}\n".encode())
        for key, array in _arrays(x, y):
            total += _update_array(digest, key, array)
    return {"sha256": digest.hexdigest(), "examples": examples, "bytes": total,
            "content": "every array hashed in full (after data.max_samples)"}


def _arrays(x: Any, y: Any) -> list[tuple[str, Any]]:
    """(name, array) pairs of an (x, y) split; a dict of targets by output name, sorted."""
    if isinstance(y, dict):
        return [("x", x), *((f"y.{k}", y[k]) for k in sorted(y))]
    return [("x", x), ("y", y)]


def _update_array(digest: Any, key: str, value: Any) -> int:
    array = np.asarray(value)
    digest.update(f"{key} {array.dtype.str} {array.shape}\n".encode())
    if array.dtype.hasobject:  # e.g. strings of varying length: no fixed byte layout
        data: Any = repr(array.tolist()).encode()
    else:
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    digest.update(data)
    return len(data)
