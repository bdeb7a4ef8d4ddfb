"""Reading image files with Pillow into arrays, in parallel, with errors that name the file.

Images are decoded once into their native integer type (uint8, or uint16 for 16-bit files) so a
folder of 8-bit PNGs costs one byte per pixel in memory; the pipeline scales by `value_max`.
Unreadable files are either a `DataError` naming the file (`data.on_bad_file: error`) or skipped
and counted in the log (`skip`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError, DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")
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
    path: Path, size: tuple[int, int] | None = None, mask: bool = False
) -> tuple[np.ndarray, tuple[int, int]]:
    """One file as an (H, W, C) integer array, resized to `size` (H, W) if given, and its
    size on disk (H, W).

    Masks are resized with nearest neighbour so class indices stay class indices.
    Raises `BadImage` with the reason when the file cannot be decoded.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            original = (image.size[1], image.size[0])
            if size is not None and original != tuple(size):
                resample = Image.Resampling.NEAREST if mask else Image.Resampling.BILINEAR
                if image.mode.startswith("I;16"):
                    image = image.convert("I")  # Pillow resizes 16-bit data as 32-bit integers
                image = image.resize((size[1], size[0]), resample)
            return _native_array(image, mask), original
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise BadImage(str(exc) or type(exc).__name__) from exc


def read_image(path: Path, channels: int) -> np.ndarray:
    """An (H, W, channels) float32 array in [0, 1]: one file for `cnnkit predict`."""
    try:
        array, _ = decode_image(path)
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
    """Image files below `folder`, sorted for a stable order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


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


def stack_images(
    images: list[np.ndarray], paths: Sequence[Path], channels: int | None = None
) -> tuple[np.ndarray, float]:
    """One (N, H, W, C) array and its `value_max` from decoded images of one size.

    Channels default to the widest in the set (gray + RGB -> RGB); 8-bit images are widened to
    16 bits when the set mixes both, so one `value_max` holds for all.
    """
    if not images:
        raise DataError("No readable images were found.")
    shapes = {img.shape[:2] for img in images}
    if len(shapes) > 1:
        first = images[0].shape[:2]
        odd = next(i for i, img in enumerate(images) if img.shape[:2] != first)
        raise DataError(
            f"Images differ in size: {paths[0]} is {first[0]}x{first[1]} but {paths[odd]} is "
            f"{images[odd].shape[0]}x{images[odd].shape[1]}. Set `data.image_size` to resize "
            "them all when loading."
        )
    target = channels or max(img.shape[-1] for img in images)
    wide = any(img.dtype == np.uint16 for img in images)
    dtype, value_max = ("uint16", MAX_16BIT) if wide else ("uint8", MAX_8BIT)
    out = np.empty((len(images), *images[0].shape[:2], target), dtype)
    for i, img in enumerate(images):
        img = convert_channels(img, target, paths[i])
        out[i] = img.astype("uint16") * 257 if wide and img.dtype == np.uint8 else img
    return out, float(value_max)


def binary_to_index(masks: np.ndarray) -> np.ndarray:
    """Masks stored as 0/255 (binary PNGs) -> 0/1 class indices; other masks unchanged."""
    values = np.unique(masks)
    if values.size and set(values.tolist()) <= {0, MAX_8BIT} and MAX_8BIT in values:
        return (masks // MAX_8BIT).astype(masks.dtype)
    return masks


def load_labelled_files(
    files: dict[str, tuple[list[Path], Any]],
    image_size: int | None,
    on_bad_file: str,
    channels: int | None = None,
    masks: bool = False,
    workers: int = 0,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float, int, dict[str, list[Path]]]:
    """Decode every split's files in one pass: split -> (images, targets), value_max, the
    number of files skipped, and split -> the image files kept (in array order).

    `files` maps a split to (image paths, targets), the targets being an array (labels,
    regression values) or, with `masks`, the mask file of each image. Unreadable files drop
    their example; an image and its mask must have the same size on disk.
    """
    names = list(files)
    paths = [p for name in names for p in files[name][0]]
    size = (int(image_size), int(image_size)) if image_size else None
    decoded = decode_all(paths, partial(decode_image, size=size), on_bad_file, workers)
    by_index = dict(zip(decoded.kept, decoded.images, strict=True))
    skipped = len(decoded.bad)
    mask_by_index: dict[int, np.ndarray] = {}
    if masks:
        mask_paths = [Path(m) for name in names for m in files[name][1]]
        decoded_masks = decode_all(mask_paths, partial(decode_image, size=size, mask=True),
                                   on_bad_file, workers)
        skipped += len(decoded_masks.bad)
        image_sizes = dict(zip(decoded.kept, decoded.info, strict=True))
        for i, mask, mask_size in zip(decoded_masks.kept, decoded_masks.images,
                                      decoded_masks.info, strict=True):
            if i in image_sizes and image_sizes[i] != mask_size:
                (h, w), (mh, mw) = image_sizes[i], mask_size
                raise DataError(f"Image {paths[i]} is {h}x{w} but its mask {mask_paths[i]} is "
                                f"{mh}x{mw}: an image and its mask must have the same size.")
            mask_by_index[i] = mask
        by_index = {i: img for i, img in by_index.items() if i in mask_by_index}
    kept = sorted(by_index)
    stacked, value_max = stack_images([by_index[i] for i in kept], [paths[i] for i in kept],
                                      channels)
    row_of = {i: row for row, i in enumerate(kept)}
    if masks:
        all_masks = binary_to_index(np.stack([mask_by_index[i] for i in kept]))
    splits, kept_paths, start = {}, {}, 0
    for name in names:
        count = len(files[name][0])
        rows = [row_of[i] for i in range(start, start + count) if i in row_of]
        kept_paths[name] = [paths[i] for i in range(start, start + count) if i in row_of]
        if masks:
            targets = all_masks[rows]
        else:
            labels = np.asarray(files[name][1])
            targets = labels[[i - start for i in range(start, start + count) if i in row_of]]
        splits[name] = (stacked[rows], targets)
        start += count
    return splits, value_max, skipped, kept_paths
