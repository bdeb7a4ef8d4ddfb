"""Splits of image files that are decoded when read, inside tf.data, so memory does not grow with
the dataset: a split holds only file paths and targets (labels, values or mask paths).

Listing probes each file's header (size and mode, no pixel decoding) to fix one raw shape and
dtype for the split. A file that fails to decode when first read either stops the run naming the
file (`data.on_bad_file: error`; the error is raised again as a `DataError` by whoever iterates,
see `read_error_behind`) or is left out of the stream and counted in the log (`skip`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.images import (
    MAX_8BIT,
    MAX_16BIT,
    BadImage,
    check_on_bad_file,
    convert_channels,
    decode_image,
)
from cnnkit.errors import DataError

log = logging.getLogger("cnnkit.data")

#: decodes done in this process (tests count them to prove files are read lazily)
DECODES = {"count": 0}
_lock = threading.Lock()
_read_error: dict[str, DataError | None] = {"error": None}


def pool_size(workers: int) -> int:
    return workers or min(32, (os.cpu_count() or 1) + 4)


@dataclass(frozen=True)
class ImageDecoder:
    """One file -> an (H, W, C) integer array of a fixed shape and dtype."""

    size: tuple[int, int]  # (H, W) every file is decoded at (resized on decode if it differs)
    channels: int
    wide: bool = False  # uint16 (16-bit files in the set) rather than uint8
    mask: bool = False
    binary_mask: bool = False  # masks stored 0/255 read as 0/1

    @property
    def shape(self) -> list[int]:
        return [*self.size, self.channels]

    @property
    def dtype(self) -> str:
        return "uint16" if self.wide else "uint8"

    @property
    def value_max(self) -> float:
        return float(MAX_16BIT if self.wide else MAX_8BIT)

    def __call__(self, path: str) -> tuple[np.ndarray, tuple[int, int]]:
        array, original = decode_image(Path(path), self.size, mask=self.mask)
        with _lock:
            DECODES["count"] += 1
        if self.mask:
            return (array // MAX_8BIT if self.binary_mask else array).astype(self.dtype), original
        array = convert_channels(array, self.channels, path)
        if self.wide and array.dtype == np.uint8:
            array = array.astype("uint16") * 257
        return array.astype(self.dtype, copy=False), original


@dataclass
class FileSplit:
    """The files of one split with their targets; `mask_decoder` set: targets are mask paths."""

    files: list[str]
    targets: np.ndarray
    decoder: ImageDecoder
    on_bad_file: str = "error"
    mask_decoder: ImageDecoder | None = None
    skipped: list[str] = field(default_factory=list)  # unreadable files met while reading

    def __len__(self) -> int:
        return len(self.files)

    @property
    def raw_shape(self) -> list[int]:
        return self.decoder.shape

    @property
    def may_skip(self) -> bool:
        """Whether a pass may yield fewer examples than files (unreadable ones left out)."""
        return self.on_bad_file == "skip"

    def target_spec(self) -> tuple[str, list[int]]:
        if self.mask_decoder is not None:
            return self.mask_decoder.dtype, self.mask_decoder.shape
        return self.targets.dtype.name, list(self.targets.shape[1:])

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """Example `index` as (x, y, readable); an unreadable one gives zeros and False under
        `skip`, and a `DataError` naming the file under `error`."""
        path = self.files[index]
        try:
            x, size = self.decoder(path)
            if self.mask_decoder is None:
                return x, np.asarray(self.targets[index]), True
            mask_path = str(self.targets[index])
            y, mask_size = self.mask_decoder(mask_path)
            if size != mask_size:
                raise _fail(DataError(
                    f"Image {path} is {size[0]}x{size[1]} but its mask {mask_path} is "
                    f"{mask_size[0]}x{mask_size[1]}: an image and its mask must have the same size."))
            return x, y, True
        except BadImage as exc:
            if self.on_bad_file == "error":
                raise _fail(DataError(
                    f"Cannot read image {path}: {exc}. Fix or remove the file, or set "
                    "`data.on_bad_file=skip` to leave unreadable files out.")) from exc
            with _lock:
                first = not self.skipped
                self.skipped.append(path)
            if first:
                log.warning("Skipped an unreadable image file (data.on_bad_file=skip): %s: %s",
                            path, exc)
            dtype, shape = self.target_spec()
            return np.zeros(self.decoder.shape, self.decoder.dtype), np.zeros(shape, dtype), False

    def dataset(self, indices: Any) -> Any:
        """(x, y) for each index of the int64 dataset `indices`, decoded in parallel (Pillow
        releases the GIL), unreadable files left out."""
        import tensorflow as tf

        y_dtype, y_shape = self.target_spec()

        def read(index: Any) -> Any:
            x, y, ok = tf.numpy_function(
                lambda i: self.read(int(i)), [index],
                [tf.as_dtype(self.decoder.dtype), tf.as_dtype(y_dtype), tf.bool], stateful=False)
            x.set_shape(self.decoder.shape)
            y.set_shape(y_shape)
            return x, y, ok

        ds = indices.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.filter(_readable).map(_example)

    def arrays(self, workers: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Every example decoded into (x, y) arrays: for small splits and tests."""
        with ThreadPoolExecutor(pool_size(workers)) as pool:
            read = [r for r in pool.map(self.read, range(len(self))) if r[2]]
        if not read:
            raise DataError("No readable images were found.")
        return np.stack([r[0] for r in read]), np.stack([r[1] for r in read])


def _readable(x: Any, y: Any, ok: Any) -> Any:
    return ok


def _example(x: Any, y: Any, ok: Any) -> tuple[Any, Any]:
    return x, y


def _fail(error: DataError) -> DataError:
    """Remember `error` so the iterating caller can raise it cleanly (tf.data wraps it)."""
    _read_error["error"] = error
    return error


def read_error_behind(exc: BaseException) -> DataError | None:
    """The `DataError` behind a TensorFlow error raised while reading a file split, if any: the
    one line a user can act on, instead of TensorFlow's wrapped traceback."""
    error = _read_error["error"]
    return error if error is not None and str(error) in str(exc) else None


# --- listing: headers only ----------------------------------------------------------------------

@dataclass(frozen=True)
class Header:
    size: tuple[int, int]  # (H, W)
    channels: int
    wide: bool


def probe(path: str) -> Header:
    """Size and channels of an image file from its header (no pixel decoding)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            mode, (width, height) = image.mode, image.size
            alpha = "transparency" in image.info
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise BadImage(str(exc) or type(exc).__name__) from exc
    if mode == "F":
        raise BadImage("32-bit float images are not supported; expected 8- or 16-bit")
    wide = mode.startswith("I;16") or mode == "I"
    if wide or mode in ("L", "LA", "1"):
        channels = 1
    else:
        channels = 4 if mode in ("RGBA", "PA", "La") or alpha else 3
    return Header((height, width), channels, wide)


def probe_all(paths: Sequence[str], on_bad_file: str, workers: int = 0
              ) -> tuple[list[Header | None], list[tuple[str, str]]]:
    """Headers of `paths` (None for unreadable ones) and the unreadable (path, reason) pairs;
    under `error` the first unreadable file stops everything with its path."""
    check_on_bad_file(on_bad_file)

    def one(path: str) -> Header | str:
        try:
            return probe(path)
        except BadImage as exc:
            return str(exc)

    with ThreadPoolExecutor(pool_size(workers)) as pool:
        results = list(pool.map(one, paths))
    bad = [(p, r) for p, r in zip(paths, results, strict=True) if isinstance(r, str)]
    if bad and on_bad_file == "error":
        path, reason = bad[0]
        more = f" ({len(bad) - 1} more unreadable files)" if len(bad) > 1 else ""
        raise DataError(f"Cannot read image {path}: {reason}{more}. Fix or remove the file, or "
                        "set `data.on_bad_file=skip` to leave unreadable files out.")
    if bad:
        log.warning("Skipped %d unreadable image file(s) (data.on_bad_file=skip), e.g. %s: %s",
                    len(bad), bad[0][0], bad[0][1])
    return [None if isinstance(r, str) else r for r in results], bad


def one_size(headers: Sequence[Header], paths: Sequence[str], image_size: int | None
             ) -> tuple[int, int]:
    """The (H, W) every file is decoded at: `data.image_size`, or the size all files share."""
    if image_size:
        return int(image_size), int(image_size)
    first = headers[0].size
    odd = next((i for i, h in enumerate(headers) if h.size != first), None)
    if odd is not None:
        size = headers[odd].size
        raise DataError(
            f"Images differ in size: {paths[0]} is {first[0]}x{first[1]} but {paths[odd]} is "
            f"{size[0]}x{size[1]}. Set `data.image_size` to resize them all when loading.")
    return first


def mask_values(paths: Sequence[str], size: tuple[int, int], workers: int = 0) -> dict[int, str]:
    """The values found in mask files, each with a file that holds it (masks are decoded one
    at a time in a pool; nothing is kept)."""
    decoder = ImageDecoder(size, 1, mask=True)

    def values(path: str) -> list[int]:
        try:
            return np.unique(decoder(path)[0]).tolist()
        except BadImage:
            return []

    found: dict[int, str] = {}
    with ThreadPoolExecutor(pool_size(workers)) as pool:
        for path, part in zip(paths, pool.map(values, paths), strict=True):
            for value in part:
                found.setdefault(int(value), path)
    return found


@dataclass
class ListedFiles:
    """What `list_file_splits` found: the splits, their raw value range, the files left out at
    listing, and the values the masks hold (segmentation)."""

    splits: dict[str, FileSplit]
    value_max: float
    bad: list[tuple[str, str]]
    mask_values: dict[int, str] | None = None  # value -> a mask file holding it

    @property
    def files(self) -> dict[str, list[str]]:
        return {name: split.files for name, split in self.splits.items()}


def list_file_splits(
    carved: dict[str, tuple[Sequence[Any], Any]],
    image_size: int | None,
    on_bad_file: str,
    channels: int | None = None,
    masks: bool = False,
    workers: int = 0,
) -> ListedFiles:
    """Each carved split (image paths, targets) as a `FileSplit`, from the files' headers only.

    Targets are labels/values, or with `masks` the mask file of each image. One raw shape holds
    for all splits: `data.image_size`, or the size the files share; channels are `channels` or
    the widest found (gray + RGB -> RGB), 8-bit sets widen to 16 bits when they mix both.
    """
    names = list(carved)
    paths = [str(p) for name in names for p in carved[name][0]]
    headers, bad = probe_all(paths, on_bad_file, workers)
    mask_paths: list[str] = []
    if masks:
        mask_paths = [str(m) for name in names for m in carved[name][1]]
        mask_headers, bad_masks = probe_all(mask_paths, on_bad_file, workers)
        bad += bad_masks
        for i, (image, mask) in enumerate(zip(headers, mask_headers, strict=True)):
            if image and mask and image.size != mask.size:
                raise DataError(
                    f"Image {paths[i]} is {image.size[0]}x{image.size[1]} but its mask "
                    f"{mask_paths[i]} is {mask.size[0]}x{mask.size[1]}: an image and its mask "
                    "must have the same size.")
        headers = [h if m else None for h, m in zip(headers, mask_headers, strict=True)]
    kept = [i for i, h in enumerate(headers) if h is not None]
    if not kept:
        raise DataError("No readable images were found.")
    found = [headers[i] for i in kept]
    size = one_size(found, [paths[i] for i in kept], image_size)
    wide = any(h.wide for h in found)
    decoder = ImageDecoder(size, channels or max(h.channels for h in found), wide)
    mask_decoder, values = None, None
    if masks:
        values = mask_values([mask_paths[i] for i in kept], size, workers)
        binary = MAX_8BIT in values and set(values) <= {0, MAX_8BIT}
        mask_decoder = ImageDecoder(size, 1, mask=True, binary_mask=binary)
        values = {v // MAX_8BIT: p for v, p in values.items()} if binary else values
    splits, start, keep = {}, 0, set(kept)
    for name in names:
        count = len(carved[name][0])
        rows = [i - start for i in range(start, start + count) if i in keep]
        targets = np.asarray(mask_paths[start:start + count] if masks else carved[name][1])
        splits[name] = FileSplit([paths[start + r] for r in rows], targets[rows], decoder,
                                 on_bad_file, mask_decoder)
        start += count
    return ListedFiles(splits, decoder.value_max, bad, values)
