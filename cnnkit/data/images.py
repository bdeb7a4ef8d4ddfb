"""Reading image files with Pillow into arrays, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnkit.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")


def read_image(path: Path, channels: int) -> np.ndarray:
    """An (H, W, channels) float32 array in [0, 1]; 8- and 16-bit, gray, RGB and RGBA files."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image, dtype="float32")
                maximum = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
                array = array / maximum
                array = array[..., None] if channels == 1 else np.repeat(array[..., None], 3, -1)
                return array.astype("float32")
            mode = "L" if channels == 1 else "RGB"
            array = np.asarray(image.convert(mode), dtype="float32") / 255.0
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise DataError(f"Cannot read image {path}: {exc}") from exc
    return array[..., None] if array.ndim == 2 else array


def list_images(folder: Path) -> list[Path]:
    """Image files below `folder`, sorted for a stable order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
