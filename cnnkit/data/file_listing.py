"""Listing a split of image files from their headers only (size, mode, format; no pixels):
one raw shape and dtype for the split, how each file will be decoded, the values masks hold."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.file_splits import JPEG_RATIOS, FileSplit, ImageDecoder, pool_size
from cnnkit.data.images import MAX_8BIT, BadImage, check_on_bad_file
from cnnkit.data.input_size import stored_sizes
from cnnkit.errors import DataError

log = logging.getLogger("cnnkit.data")
@dataclass(frozen=True)
class Header:
    size: tuple[int, int]  # (H, W)
    channels: int
    wide: bool
    format: str = ""  # Pillow's name of the file format (JPEG, PNG, ...)
    mode: str = ""


#: formats TensorFlow decodes natively, by Pillow mode (CMYK JPEGs, TIFF, BMP... use Pillow)
NATIVE_MODES = {"JPEG": ("L", "RGB"), "PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")}
PILLOW, PNG = 0, len(JPEG_RATIOS) + 1  # decode branches; 1..4: JPEG at 1/1, 1/2, 1/4, 1/8


def decode_branch(header: Header, size: tuple[int, int]) -> int:
    """How a file is decoded in TensorFlow: JPEG at the smallest DCT ratio that still covers
    `size`, PNG, or Pillow (through Python) for everything else."""
    if header.mode not in NATIVE_MODES.get(header.format, ()):
        return PILLOW
    if header.format == "PNG":
        return PNG
    height, width = header.size
    fits = [r for r in JPEG_RATIOS if height // r >= size[0] and width // r >= size[1]]
    return 1 + JPEG_RATIOS.index(max(fits, default=1))


def decoded_size(header: Header, branch: int) -> tuple[int, int]:
    """(H, W) a file decodes at before resizing: JPEG DCT scaling divides, rounding up."""
    ratio = JPEG_RATIOS[branch - 1] if PILLOW < branch < PNG else 1
    return -(-header.size[0] // ratio), -(-header.size[1] // ratio)


def probe(path: str) -> Header:
    """Size and channels of an image file from its header (no pixel decoding)."""
    from PIL import Image, UnidentifiedImageError

    from cnnkit.data.medical import is_dicom, probe_dicom

    if is_dicom(Path(path)):  # decoded by pydicom through Python; gray files are 16-bit
        size, channels = probe_dicom(Path(path))
        return Header(size, channels, channels == 1, "DICOM", "I;16" if channels == 1 else "RGB")

    try:
        with Image.open(path) as image:
            mode, (width, height), form = image.mode, image.size, image.format or ""
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
    return Header((height, width), channels, wide, form, mode)


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
    stored: dict[str, Any] | None = None  # the sizes the files hold (`stored_sizes`)

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
    window: list[float] | None = None,
) -> ListedFiles:
    """Each carved split (image paths, targets) as a `FileSplit`, from the files' headers only.

    Targets are labels/values, or with `masks` the mask file of each image. One raw shape holds
    for all splits: `data.image_size`, or the size the files share; channels are `channels` or
    the widest found (gray + RGB -> RGB), 8-bit sets widen to 16 bits when they mix both.
    `window` ([center, width]) windows DICOM files.
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
    decoder = ImageDecoder(size, channels or max(h.channels for h in found), wide,
                           window=(float(window[0]), float(window[1])) if window else None)
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
        branches = np.asarray([decode_branch(headers[start + r], size) for r in rows], "int32")
        differ = {decoded_size(headers[start + r], b) != size for r, b in zip(rows, branches,
                                                                           strict=True)}
        splits[name] = FileSplit([paths[start + r] for r in rows], targets[rows], decoder,
                                 on_bad_file, mask_decoder, branches,
                                 resized=differ.pop() if len(differ) == 1 else None)
        start += count
    return ListedFiles(splits, decoder.value_max, bad, values,
                       stored_sizes("images", [h.size for h in found], "data.image_size"))
