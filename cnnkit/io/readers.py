"""Input readers of `cnnkit predict`: an image file, a folder of images, a NIfTI volume or a
folder of them, or a `.npy` array of raw inputs, each in the training source's raw value range
and with what the prediction writers need about it (`InputInfo`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.images import IMAGE_SUFFIXES, list_images, read_image
from cnnkit.data.pipeline import Preprocessing
from cnnkit.errors import DataError
from cnnkit.io.image_files import NIFTI_SUFFIXES, InputInfo, is_nifti


def load_array_inputs(path: Path, preprocessing: Preprocessing) -> tuple[np.ndarray, list[InputInfo]]:
    """Raw examples from a .npy file, shaped (N, *raw_shape); a channel axis is added if absent."""
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"`input={path}` cannot be read as a .npy array: {exc}") from exc
    return check_array_inputs(x, path, preprocessing)


def check_array_inputs(x: np.ndarray, path: Path, preprocessing: Preprocessing
                       ) -> tuple[np.ndarray, list[InputInfo]]:
    """Raw examples of a .npy file as (N, *raw_shape), a missing channel axis added."""
    raw = list(preprocessing.raw_shape)
    shape = list(x.shape)
    if shape[1:] == raw:
        pass
    elif raw[-1] == 1 and shape[1:] == raw[:-1]:
        x = x[..., np.newaxis]
    elif shape == raw:
        x = x[np.newaxis]
    elif x.ndim == len(raw) + 1 and len(raw) >= 3 and shape[-1] == raw[-1]:
        pass  # a batch of images/volumes of another size: resized, or run at their own size
    else:
        raise DataError(
            f"`input={path}` has shape {tuple(shape)}. Expected (N, {', '.join(map(str, raw))})"
            + (f" or (N, {', '.join(map(str, raw[:-1]))})" if raw[-1] == 1 else "")
        )
    infos = [InputInfo(f"{path.stem}_{i}", tuple(x.shape[1:-1])) for i in range(len(x))]
    return x.astype("float32"), infos


def _files(path: Path, wanted: str) -> list[Path]:
    if path.is_file():
        return [path]
    if wanted == "nifti":
        return sorted(p for p in path.rglob("*") if p.is_file() and is_nifti(p))
    return list_images(path)


def _relative_id(file: Path, root: Path) -> str:
    return file.name if root.is_file() else str(file.relative_to(root))


def load_image_inputs(path: Path, preprocessing: Preprocessing) -> tuple[list[np.ndarray],
                                                                          list[InputInfo]]:
    """Image files in the source's raw value range; ids are paths relative to `path`."""
    files = _files(path, "image")
    if not files:
        raise DataError(f"`input={path}` holds no images. Expected files ending in "
                        f"{', '.join(IMAGE_SUFFIXES + NIFTI_SUFFIXES)}, or a .npy file")
    return load_image_files(files, path, preprocessing)


def load_image_files(files: list[Path], path: Path, preprocessing: Preprocessing
                     ) -> tuple[list[np.ndarray], list[InputInfo]]:
    """`files` (found under `path`) in the source's raw value range."""
    channels = int(preprocessing.raw_shape[-1])
    images = [read_image(f, channels) * preprocessing.value_max for f in files]
    infos = [InputInfo(_relative_id(f, path), tuple(img.shape[:-1])) for f, img in zip(
        files, images, strict=True)]
    return images, infos


def load_nifti_inputs(path: Path, preprocessing: Preprocessing) -> tuple[list[np.ndarray],
                                                                          list[InputInfo]]:
    """NIfTI volumes (nibabel) as (X, Y, Z, C) arrays, with their affine and header."""
    files = _files(path, "nifti")
    if not files:
        raise DataError(f"`input={path}` holds no NIfTI files (.nii, .nii.gz).")
    return load_nifti_files(files, path, preprocessing)


def load_nifti_files(files: list[Path], path: Path, preprocessing: Preprocessing
                     ) -> tuple[list[np.ndarray], list[InputInfo]]:
    """NIfTI `files` (found under `path`) with their affine and header."""
    import nibabel as nib

    volumes, infos = [], []
    for file in files:
        try:
            image = nib.load(file)
            data = np.asarray(image.get_fdata(dtype="float32"))
        except (OSError, ValueError, nib.filebasedimages.ImageFileError) as exc:
            raise DataError(f"Cannot read NIfTI volume {file}: {exc}") from exc
        if data.ndim == len(preprocessing.raw_shape) - 1:
            data = data[..., np.newaxis]
        if data.ndim != len(preprocessing.raw_shape) or data.shape[-1] != preprocessing.raw_shape[-1]:
            raise DataError(f"NIfTI volume {file} has shape {data.shape}. Expected "
                            f"{len(preprocessing.raw_shape) - 1} spatial axes and "
                            f"{preprocessing.raw_shape[-1]} channel(s) like the training data")
        volumes.append(data)
        infos.append(InputInfo(_relative_id(file, path), tuple(data.shape[:-1]),
                               affine=image.affine, header=image.header))
    return volumes, infos


def load_inputs(source: Path, preprocessing: Preprocessing) -> tuple[Any, list[InputInfo]]:
    """The raw inputs at `source` (a .npy file, NIfTI volumes or images) and what the writers
    need about each one."""
    if source.suffix == ".npy":
        return load_array_inputs(source, preprocessing)
    if is_nifti(source) or (source.is_dir() and not list_images(source)):
        return load_nifti_inputs(source, preprocessing)
    return load_image_inputs(source, preprocessing)


#: `cnnkit predict` reads, predicts and writes this many inputs at a time
CHUNK = 256


def input_chunks(source: Path, preprocessing: Preprocessing, chunk: int = CHUNK
                 ) -> Iterator[tuple[Any, list[InputInfo]]]:
    """`load_inputs` in chunks of at most `chunk` inputs, so memory holds one chunk of images
    however many files a folder has (a .npy file is memory-mapped and sliced)."""
    if source.suffix == ".npy":
        try:
            mapped = np.load(source, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            mapped = None  # load_array_inputs names the problem
        raw = list(preprocessing.raw_shape)
        if mapped is None or list(mapped.shape) == raw or mapped.ndim < len(raw):
            yield load_array_inputs(source, preprocessing)  # one example, or unreadable
            return
        for start in range(0, len(mapped), chunk):
            x, infos = check_array_inputs(np.asarray(mapped[start:start + chunk]), source,
                                          preprocessing)
            yield x, [InputInfo(f"{source.stem}_{start + i}", info.size)
                      for i, info in enumerate(infos)]
        return
    nifti = is_nifti(source) or (source.is_dir() and not list_images(source))
    files = _files(source, "nifti" if nifti else "image")
    if not files:
        yield load_inputs(source, preprocessing)  # names what is missing
        return
    load = load_nifti_files if nifti else load_image_files
    for start in range(0, len(files), chunk):
        yield load(files[start:start + chunk], source, preprocessing)
