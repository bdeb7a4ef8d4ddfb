"""Reading image files with Pillow into arrays, with errors that name the file.

Images are decoded into their native integer type (uint8, or uint16 for 16-bit files) so a
decoded 8-bit image costs one byte per pixel; the pipeline scales by `value_max`. Unreadable
files are either a `DataError` naming the file (`data.on_bad_file: error`) or skipped and counted
in the log (`skip`). Folder and CSV sources decode as the pipeline reads (data/file_splits.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError, DataError

DICOM_SUFFIXES = (".dcm",)  # also files without a suffix that start like DICOM (data/medical.py)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", *DICOM_SUFFIXES)
JPEG_SUFFIXES = (".jpg", ".jpeg")
ON_BAD_FILE = ("error", "skip")
MAX_8BIT, MAX_16BIT = 255, 65535

log = logging.getLogger("cnnkit.data")


class BadImage(Exception):
    """A file Pillow cannot decode (corrupt, truncated, unsupported mode)."""


def _native_array(image: Any, mask: bool) -> np.ndarray:
    """The pixels of an open Pillow image as (H, W, C) uint8/uint16, alpha kept for RGBA."""
    mode = image.mode
    if mask and mode in ("P", "L", "1"):  # palette masks (e.g. VOC) hold class indices
        array = np.asarray(image.convert("L") if mode == "1" else image)
        return (array > 0).astype("uint8")[..., None] if mode == "1" else array[..., None]
    if mode.startswith("I;16") or mode == "I":
        array = np.asarray(image.convert("I") if mode != "I" else image)
        if array.min() < 0 or array.max() > MAX_16BIT:
            raise BadImage(f"32-bit integer pixels out of the 16-bit range (mode {mode})")
        return array.astype("uint16")[..., None]
    if mask:
        array = np.asarray(image.convert("RGB"))
        if (array != array[..., :1]).any():
            raise BadImage("colour masks are not supported: store class indices (0, 1, ...) as a "
                           "gray or palette image")
        return array[..., :1]
    if mode == "F":
        raise BadImage("32-bit float images are not supported; expected 8- or 16-bit")
    if mode in ("L", "LA", "1"):
        return np.asarray(image.convert("L"))[..., None]
    has_alpha = mode in ("RGBA", "PA", "La") or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))


def decode_image(
    path: Path, size: tuple[int, int] | None = None, mask: bool = False, resize: bool = True,
    window: tuple[float, float] | None = None,
) -> tuple[np.ndarray, tuple[int, int]]:
    """One file as an (H, W, C) integer array, resized to `size` (H, W) if given, and its
    size on disk (H, W).

    JPEGs larger than `size` decode at 1/2, 1/4 or 1/8 scale when that still covers it (DCT
    scaling: a 1024x1024 file read for a 224x224 model decodes 16x fewer pixels). `resize=False`
    stops there, for a caller that resizes faster itself (the pipeline, in TensorFlow). Masks are
    resized with nearest neighbour so class indices stay class indices. Raises `BadImage` with
    the reason when the file cannot be decoded. DICOM images decode with pydicom, windowed by
    `window` (data/medical.py).
    """
    from PIL import Image, UnidentifiedImageError

    from cnnkit.data.medical import decode_dicom, is_dicom

    if not mask and is_dicom(path):
        return decode_dicom(path, size if resize else None, window)

    if not mask and path.suffix.lower() in JPEG_SUFFIXES:
        decoded = _decode_jpeg(path, size)
        if decoded is not None:
            array, original = decoded
            if resize and size is not None and array.shape[:2] != tuple(size):
                image = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
                array = np.asarray(image.resize((size[1], size[0]), Image.Resampling.BILINEAR))
                array = array.reshape(*array.shape[:2], -1)
            return array, original
    try:
        with Image.open(path) as image:
            original = (image.size[1], image.size[0])
            if size is not None and not mask and image.format == "JPEG":
                image.draft(image.mode, (size[1], size[0]))  # CMYK JPEGs (others: simplejpeg)
            image.load()
            if resize and size is not None and original != tuple(size):
                resample = Image.Resampling.NEAREST if mask else Image.Resampling.BILINEAR
                if image.mode.startswith("I;16"):
                    image = image.convert("I")  # Pillow resizes 16-bit data as 32-bit integers
                image = image.resize((size[1], size[0]), resample)
            return _native_array(image, mask), original
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise BadImage(str(exc) or type(exc).__name__) from exc


def _decode_jpeg(path: Path, size: tuple[int, int] | None
                 ) -> tuple[np.ndarray, tuple[int, int]] | None:
    """A gray or colour JPEG decoded by libjpeg-turbo (simplejpeg, fast DCT and chroma
    upsampling), at the smallest of the 1/2, 1/4, 1/8 scales that still covers `size` (those
    have SIMD code; other M/8 scales decoded slower here than a full decode). None: another
    colour space (CMYK), left to Pillow."""
    import simplejpeg

    try:
        data = path.read_bytes()
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        if colorspace not in ("Gray", "YCbCr", "RGB"):
            return None
        factor = 1
        while size and factor < 8 and height // (2 * factor) >= size[0] \
                and width // (2 * factor) >= size[1]:
            factor *= 2
        scale = {"min_height": -(-height // factor), "min_width": -(-width // factor)}
        array = simplejpeg.decode_jpeg(data, "GRAY" if colorspace == "Gray" else "RGB",
                                       fastdct=True, fastupsample=True, **scale)
    except (OSError, ValueError) as exc:
        raise BadImage(str(exc) or type(exc).__name__) from exc
    return array.reshape(*array.shape[:2], -1), (height, width)


def read_image(path: Path, channels: int, window: tuple[float, float] | None = None) -> np.ndarray:
    """An (H, W, channels) float32 array in [0, 1]: one file for `cnnkit predict` (`window`:
    the training's `data.window` for DICOM files)."""
    try:
        array, _ = decode_image(path, window=window)
    except BadImage as exc:
        raise DataError(f"Cannot read image {path}: {exc}") from exc
    scale = MAX_16BIT if array.dtype == np.uint16 else MAX_8BIT
    return convert_channels(array, channels, path).astype("float32") / scale


def _opaque(array: np.ndarray) -> np.ndarray:
    """A full alpha channel matching `array`'s dtype."""
    full = MAX_16BIT if array.dtype == np.uint16 else MAX_8BIT
    return np.full_like(array[..., :1], full)


def convert_channels(array: np.ndarray, channels: int, path: Path | str = "") -> np.ndarray:
    """Gray <-> RGB(A) on an (H, W, C) integer array, keeping its dtype."""
    have = array.shape[-1]
    if have == channels:
        return array
    if channels == 1 and have in (3, 4):  # ITU-R 601-2 luma, as Pillow's convert("L")
        luma = array[..., :3].astype("float32") @ np.array([0.299, 0.587, 0.114], "float32")
        return np.round(luma).astype(array.dtype)[..., None]
    if channels in (3, 4) and have in (1, 3, 4):
        rgb = np.repeat(array, 3, axis=-1) if have == 1 else array[..., :3]
        return np.concatenate([rgb, _opaque(array)], axis=-1) if channels == 4 else rgb
    raise DataError(f"Cannot convert {path} from {have} to {channels} channels.")


def list_images(folder: Path) -> list[Path]:
    """Image files below `folder` (DICOM ones also without a suffix), sorted for a stable order."""
    from cnnkit.data.medical import has_dicom_preamble

    return sorted(p for p in folder.rglob("*") if p.is_file() and (
        p.suffix.lower() in IMAGE_SUFFIXES or (not p.suffix and has_dicom_preamble(p))))


def check_on_bad_file(value: str) -> str:
    if value not in ON_BAD_FILE:
        raise ConfigError(
            f"`data.on_bad_file` must be one of {', '.join(ON_BAD_FILE)}. Received: {value!r}"
        )
    return value


@dataclass
class DecodedImages:
    """Arrays decoded from a list of files; `kept[i]` is the index of `images[i]` in that list."""

    images: list[np.ndarray]
    info: list[Any]  # what `decode` returned beside each array: (H, W) on disk for images
    kept: list[int]
    bad: list[tuple[Path, str]]


def decode_all(
    paths: Sequence[Path],
    decode: Callable[[Path], tuple[np.ndarray, Any]],
    on_bad_file: str,
    workers: int = 0,
) -> DecodedImages:
    """Decode `paths` with a thread pool (Pillow, zlib and nibabel release the GIL).

    `decode` returns (array, info) or raises `BadImage`. A bad file stops everything with its
    path when `on_bad_file` is "error"; with "skip" it is left out and counted in the log.
    """
    check_on_bad_file(on_bad_file)

    def one(path: Path) -> tuple[np.ndarray, Any] | str:
        try:
            return decode(path)
        except BadImage as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=workers or min(32, (os.cpu_count() or 1) + 4)) as pool:
        results = list(pool.map(one, paths))
    images, info, kept, bad = [], [], [], []
    for i, (path, result) in enumerate(zip(paths, results, strict=True)):
        if isinstance(result, str):
            bad.append((Path(path), result))
        else:
            images.append(result[0])
            info.append(result[1])
            kept.append(i)
    if bad and on_bad_file == "error":
        path, reason = bad[0]
        more = f" ({len(bad) - 1} more unreadable files)" if len(bad) > 1 else ""
        raise DataError(
            f"Cannot read image {path}: {reason}{more}. Fix or remove the file, or set "
            "`data.on_bad_file=skip` to leave unreadable files out."
        )
    if bad:
        log.warning("Skipped %d unreadable image file(s) (data.on_bad_file=skip), e.g. %s: %s",
                    len(bad), bad[0][0], bad[0][1])
    return DecodedImages(images, info, kept, bad)


def binary_to_index(masks: np.ndarray) -> np.ndarray:
    """Masks stored as 0/255 (binary PNGs) -> 0/1 class indices; other masks unchanged."""
    values = np.unique(masks)
    if values.size and set(values.tolist()) <= {0, MAX_8BIT} and MAX_8BIT in values:
        return (masks // MAX_8BIT).astype(masks.dtype)
    return masks
