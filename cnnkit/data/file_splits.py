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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.images import (
    MAX_8BIT,
    MAX_16BIT,
    BadImage,
    convert_channels,
    decode_image,
)
from cnnkit.errors import DataError

log = logging.getLogger("cnnkit.data")

#: decodes done in this process (tests count them to prove files are read lazily)
DECODES = {"count": 0}
_lock = threading.Lock()
_read_error: dict[str, DataError | None] = {"error": None}
_native_splits: dict[int, Any] = {}  # FileSplits decoded by TensorFlow's ops in this process


JPEG_RATIOS = (1, 2, 4, 8)  # DCT scalings TensorFlow's decode_jpeg offers (see file_listing)


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
    window: tuple[float, float] | None = None  # DICOM files: `data.window` [center, width]

    @property
    def shape(self) -> list[int]:
        return [*self.size, self.channels]

    @property
    def dtype(self) -> str:
        return "uint16" if self.wide else "uint8"

    @property
    def value_max(self) -> float:
        return float(MAX_16BIT if self.wide else MAX_8BIT)

    def __call__(self, path: str, resize: bool = True) -> tuple[np.ndarray, tuple[int, int]]:
        """The decoded file and its size on disk; `resize=False`: images may come out larger
        than `size` (reduced by JPEG DCT scaling only) for the pipeline to resize."""
        array, original = decode_image(Path(path), self.size, mask=self.mask,
                                       resize=resize or self.mask, window=self.window)
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
    branches: np.ndarray | None = None  # per file: `decode_branch` (None: Pillow for all)
    resized: bool | None = None  # every file decodes at another size than the decoder's (True),
    # none does (False), or some do (None), as the headers tell
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

    def read(self, index: int, resize: bool = True) -> tuple[np.ndarray, np.ndarray, bool]:
        """Example `index` as (x, y, readable); an unreadable one gives zeros and False under
        `skip`, and a `DataError` naming the file under `error`. `resize=False`: x may be
        larger than the decoder's size (see `ImageDecoder`)."""
        path = self.files[index]
        try:
            x, size = self.decoder(path, resize=resize)
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

    def dataset(self, indices: Any, with_index: bool = False) -> Any:
        """(x, y) for each index of the int64 dataset `indices` (with the index: (x, y, i)),
        decoded in parallel and resized in TensorFlow, unreadable files left out.

        JPEG and PNG files decode with TensorFlow's own ops (2x the images/s of Pillow through
        Python here, which also resized slower); other formats, and every file under
        `on_bad_file=skip` (which must name what it leaves out), with Pillow through Python.
        A file TensorFlow cannot decode is named afterwards (`read_error_behind`)."""
        import tensorflow as tf

        native = self.branches is not None and not self.may_skip and bool(self.branches.any())
        if not native:
            return self._python_dataset(indices, with_index)
        _native_splits[id(self)] = self
        files = tf.constant(self.files)
        branches = tf.constant(self.branches, tf.int32)
        y_dtype, y_shape = self.target_spec()
        targets = None if self.mask_decoder else tf.constant(self.targets)

        def read(index: Any) -> Any:
            x = _decode_native(tf.io.read_file(files[index]), branches[index], self, index)
            if targets is not None:
                y = tf.gather(targets, index)
            else:
                y = tf.numpy_function(lambda i: self.mask_decoder(str(self.targets[int(i)]))[0],
                                      [index], tf.as_dtype(y_dtype), stateful=False)
                y.set_shape(y_shape)
            return (x, y, index) if with_index else (x, y)

        return indices.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def _python_dataset(self, indices: Any, with_index: bool) -> Any:
        import tensorflow as tf

        y_dtype, y_shape = self.target_spec()
        decoder = self.decoder

        def read(index: Any) -> Any:
            x, y, ok = tf.numpy_function(
                lambda i: self.read(int(i), resize=False), [index],
                [tf.as_dtype(decoder.dtype), tf.as_dtype(y_dtype), tf.bool], stateful=False)
            x.set_shape([None, None, decoder.channels])
            y.set_shape(y_shape)
            return _fit_size(x, decoder), y, ok, index

        ds = indices.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.filter(_readable).map(_with_index if with_index else _example)

    def first_unreadable(self) -> DataError | None:
        """The error naming the first file Pillow cannot decode: what a TensorFlow decode
        failure was about (its message names no file)."""
        with ThreadPoolExecutor(pool_size(0)) as pool:
            for path, ok in zip(self.files, pool.map(_decodes, self.files), strict=True):
                if not ok:
                    try:
                        self.decoder(path)
                    except BadImage as exc:
                        return DataError(
                            f"Cannot read image {path}: {exc}. Fix or remove the file, or set "
                            "`data.on_bad_file=skip` to leave unreadable files out.")
        return None

    def arrays(self, workers: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Every example decoded into (x, y) arrays: for small splits and tests."""
        with ThreadPoolExecutor(pool_size(workers)) as pool:
            read = [r for r in pool.map(self.read, range(len(self))) if r[2]]
        if not read:
            raise DataError("No readable images were found.")
        return np.stack([r[0] for r in read]), np.stack([r[1] for r in read])


def _decodes(path: str) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
        return True
    except Exception:  # any failure to decode counts: the caller names it with its reason
        return False


def _decode_native(data: Any, branch: Any, split: FileSplit, index: Any) -> Any:
    """One file's bytes decoded by TensorFlow by its `decode_branch`, at the decoder's size."""
    import tensorflow as tf

    decoder = split.decoder
    channels, wide = decoder.channels, decoder.wide

    def widened(x: Any) -> Any:  # 8-bit files in a 16-bit set: scaled as the Pillow path does
        return tf.cast(x, tf.uint16) * 257 if wide else x

    def jpeg(ratio: int) -> Any:
        def decode() -> Any:
            x = tf.io.decode_jpeg(data, channels=min(channels, 3), ratio=ratio,
                                  dct_method="INTEGER_FAST")
            if channels == 4:
                x = tf.concat([x, tf.fill(tf.concat([tf.shape(x)[:2], [1]], 0),
                                          tf.constant(255, tf.uint8))], -1)
            return widened(x)
        return decode

    def png() -> Any:
        return tf.io.decode_png(data, channels=channels, dtype=tf.uint16 if wide else tf.uint8)

    def pillow() -> Any:
        x = tf.numpy_function(lambda i: split.read(int(i), resize=False)[0], [index],
                              tf.as_dtype(decoder.dtype), stateful=False)
        return x

    decoders = [pillow, *(jpeg(r) for r in JPEG_RATIOS), png]
    used = sorted(set(split.branches.tolist()))
    # one decoder for all files (the usual case): called directly, a Case op costs a function
    # call per image
    x = decoders[used[0]]() if len(used) == 1 else tf.switch_case(branch, decoders)
    x.set_shape([None, None, channels])
    return _fit_size(x, decoder, split.resized)


def _fit_size(x: Any, decoder: ImageDecoder, resized: bool | None = None) -> Any:
    """x at the decoder's size: bilinear, rounded back to its integer type. JPEG DCT scaling
    has left at most a 2x reduction to do here, where bilinear without antialiasing holds.
    `resized`: whether every file needs it (known from the headers); None: decided per file."""
    import tensorflow as tf

    size = list(decoder.size)

    def resize() -> Any:
        top = float(MAX_16BIT if decoder.wide else MAX_8BIT)
        out = tf.image.resize(x, size, method="bilinear")
        return tf.cast(tf.clip_by_value(tf.round(out), 0.0, top), decoder.dtype)

    if resized is None:
        same = tf.reduce_all(tf.equal(tf.shape(x)[:2], size))
        fitted = tf.cond(same, lambda: x, resize)
    else:
        fitted = resize() if resized else x
    fitted.set_shape(decoder.shape)
    return fitted


def _readable(x: Any, y: Any, ok: Any, index: Any) -> Any:
    return ok


def _example(x: Any, y: Any, ok: Any, index: Any) -> tuple[Any, Any]:
    return x, y


def _with_index(x: Any, y: Any, ok: Any, index: Any) -> tuple[Any, Any, Any]:
    return x, y, index


def _fail(error: DataError) -> DataError:
    """Remember `error` so the iterating caller can raise it cleanly (tf.data wraps it)."""
    _read_error["error"] = error
    return error


def read_error_behind(exc: BaseException) -> DataError | None:
    """The `DataError` behind a TensorFlow error raised while reading a file split, if any: the
    one line a user can act on, instead of TensorFlow's wrapped traceback. A failed native
    decode names no file: the splits read natively are searched for the one Pillow cannot
    decode either."""
    error = _read_error["error"]
    if error is not None and str(error) in str(exc):
        return error
    if type(exc).__name__ == "InvalidArgumentError" and _native_splits:
        for split in list(_native_splits.values()):
            found = split.first_unreadable()
            if found is not None:
                return found
    return None
