"""Generated images as files: a grid PNG, one file per sample, or an array in the data's raw units.

Samples arrive as (N, *spatial, C) in [0, 1] (the model's input units under data.normalize=rescale).
The `.npy` form is what the training data looked like before preprocessing, so it feeds
`cnnkit predict` unchanged: resized back to the raw size, times the source's `value_max` and
cast to its integer type (uint8 for 0-255 images), the channel axis dropped for gray images
(Fashion-MNIST: uint8, N x 28 x 28). Volumes show their middle slice in PNGs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import DataError
from cnnkit.io.image_files import InputInfo, save_npy, write_array
from cnnkit.io.rundir import atomic_write

RAW_TYPES = {255.0: "uint8", 65535.0: "uint16"}  # value_max -> the integer type it came from


def _slice(image: np.ndarray) -> np.ndarray:
    """A 2D (H, W, C) view: the middle slice of a volume."""
    while image.ndim > 3:
        image = image[image.shape[0] // 2]
    return image


def grid(images: np.ndarray, columns: int, pad: int = 2) -> np.ndarray:
    """The images tiled `columns` wide as one uint8 array (H, W) or (H, W, 3)."""
    tiles = np.stack([_slice(x) for x in images])
    n, h, w, c = tiles.shape
    rows = math.ceil(n / columns)
    canvas = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, c), "float32")
    for i, tile in enumerate(tiles):
        r, k = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        canvas[top:top + h, left:left + w] = tile
    pixels = np.clip(np.rint(canvas * 255), 0, 255).astype("uint8")
    return pixels[..., 0] if c == 1 else pixels[..., :3]


def write_grid(path: Path, images: np.ndarray, columns: int) -> Path:
    from PIL import Image

    picture = Image.fromarray(grid(images, columns))
    return atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))


def to_raw(images: np.ndarray, preprocessing: Any) -> np.ndarray:
    """Samples in the data's raw units, dtype and shape (see the module docstring)."""
    raw = [int(d) for d in preprocessing.raw_shape]
    if list(images.shape[1:-1]) != raw[:-1]:
        if len(raw) != 3:
            raise DataError(f"samples of shape {images.shape[1:]} cannot be resized to the raw "
                            f"shape {raw}: write them as .png or a folder instead of .npy.")
        import tensorflow as tf

        images = np.asarray(tf.image.resize(images, raw[:-1], antialias=True))
    if images.shape[-1] != raw[-1] and images.shape[-1] == 1:
        images = np.repeat(images, raw[-1], axis=-1)
    value_max = float(preprocessing.value_max)
    dtype = RAW_TYPES.get(value_max, "float32")
    scaled = np.clip(images, 0.0, 1.0) * value_max
    out = np.rint(scaled).astype(dtype) if dtype != "float32" else scaled.astype("float32")
    return out[..., 0] if raw[-1] == 1 else out


def write_samples(images: np.ndarray, output: Path, preprocessing: Any, columns: int) -> str:
    """`output` ending in .png: one grid; .npy: the raw array; anything else: a folder with one
    PNG per sample (`sample_0000.png`, ...). Returns what was written, for the console."""
    output = Path(output)
    if output.suffix.lower() == ".png":
        write_grid(output, images, columns)
        return f"a grid of {len(images)} samples"
    if output.suffix.lower() == ".npy":
        raw = to_raw(images, preprocessing)
        save_npy(output, raw)
        return f"{len(images)} samples as an array {raw.dtype} {raw.shape}"
    output.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        write_array(_slice(image), InputInfo(f"sample_{i:04d}", tuple(image.shape[:-1])),
                    output, "png", 255.0)
    return f"{len(images)} PNG files"
