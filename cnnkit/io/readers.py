"""Input readers of `cnnkit predict`: an image file (DICOM too), a folder of images, a volume
(NIfTI, MetaImage, NRRD, a DICOM series folder) or a folder of them, or a `.npy` array of raw
inputs, each in the training source's raw value range and with what the prediction writers need
about it (`InputInfo`). A folder of DICOM files is one volume for a model of volumes, a folder
of 2D images otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.images import IMAGE_SUFFIXES, BadImage, list_images, read_image
from cnnkit.data.medical import ITK_SUFFIXES, is_itk_volume, is_medical_volume, read_medical_volume
from cnnkit.data.pipeline import Preprocessing
from cnnkit.errors import DataError
from cnnkit.io.image_files import NIFTI_SUFFIXES, InputInfo, is_nifti

Window = tuple[float, float] | list[float] | None  # `data.window` of the training, DICOM images


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
    if path.is_file() or (wanted == "nifti" and is_medical_volume(path) and path.is_dir()):
        return [path]
    if wanted == "nifti":
        return sorted(p for p in path.rglob("*") if (p.is_file() and is_nifti(p))
                      or is_medical_volume(p))
    return list_images(path)


def _relative_id(file: Path, root: Path) -> str:
    return file.name if root.is_file() or file == root else str(file.relative_to(root))


def load_image_inputs(path: Path, preprocessing: Preprocessing, window: Window = None
                      ) -> tuple[list[np.ndarray], list[InputInfo]]:
    """Image files in the source's raw value range; ids are paths relative to `path`."""
    files = _files(path, "image")
    if not files:
        raise DataError(f"`input={path}` holds no images. Expected files ending in "
                        f"{', '.join(IMAGE_SUFFIXES + NIFTI_SUFFIXES + ITK_SUFFIXES)}, "
                        "or a .npy file")
    return load_image_files(files, path, preprocessing, window)


def load_image_files(files: list[Path], path: Path, preprocessing: Preprocessing,
                     window: Window = None) -> tuple[list[np.ndarray], list[InputInfo]]:
    """`files` (found under `path`) in the source's raw value range (`window`: the training's
    `data.window`, for DICOM files)."""
    channels = int(preprocessing.raw_shape[-1])
    images = [read_image(f, channels, window) * preprocessing.value_max for f in files]
    infos = [InputInfo(_relative_id(f, path), tuple(img.shape[:-1])) for f, img in zip(
        files, images, strict=True)]
    return images, infos


def load_nifti_inputs(path: Path, preprocessing: Preprocessing) -> tuple[list[np.ndarray],
                                                                          list[InputInfo]]:
    """Volumes as (X, Y, Z, C) arrays, with their affine and header (NIfTI) or geometry."""
    files = _files(path, "nifti")
    if not files:
        raise DataError(f"`input={path}` holds no NIfTI files (.nii, .nii.gz), MetaImage or "
                        f"NRRD files ({', '.join(ITK_SUFFIXES)}) or DICOM series folders.")
    return load_nifti_files(files, path, preprocessing)


def load_nifti_files(files: list[Path], path: Path, preprocessing: Preprocessing
                     ) -> tuple[list[np.ndarray], list[InputInfo]]:
    """Volume `files` (found under `path`) with their affine and header (NIfTI) or geometry."""
    import nibabel as nib

    volumes, infos = [], []
    for file in files:
        if not is_nifti(file):
            data, info = _medical_volume(file, path)
            volumes.append(_checked_volume(data, file, preprocessing))
            infos.append(info)
            continue
        try:
            image = nib.load(file)
            data = np.asarray(image.get_fdata(dtype="float32"))
        except (OSError, ValueError, nib.filebasedimages.ImageFileError) as exc:
            raise DataError(f"Cannot read NIfTI volume {file}: {exc}") from exc
        data = _checked_volume(data, file, preprocessing)
        volumes.append(data)
        infos.append(InputInfo(_relative_id(file, path), tuple(data.shape[:-1]),
                               affine=image.affine, header=image.header))
    return volumes, infos


def _checked_volume(data: np.ndarray, file: Path, preprocessing: Preprocessing) -> np.ndarray:
    """`data` with a channel axis, checked against the training data's rank and channels."""
    if data.ndim == len(preprocessing.raw_shape) - 1:
        data = data[..., np.newaxis]
    if data.ndim != len(preprocessing.raw_shape) or data.shape[-1] != preprocessing.raw_shape[-1]:
        raise DataError(f"Volume {file} has shape {data.shape}. Expected "
                        f"{len(preprocessing.raw_shape) - 1} spatial axes and "
                        f"{preprocessing.raw_shape[-1]} channel(s) like the training data")
    return data


# --- MetaImage, NRRD and DICOM series inputs (data/medical.py) --------------------------------

def _medical_volume(file: Path, root: Path) -> tuple[np.ndarray, InputInfo]:
    """A MetaImage/NRRD file or DICOM series folder and its geometry: outputs of .mha/.nrrd
    inputs keep their format, those of a DICOM series are NIfTI with its affine."""
    try:
        data, geometry = read_medical_volume(file)
    except BadImage as exc:
        raise DataError(f"Cannot read volume {file}: {exc}") from exc
    return data.astype("float32"), InputInfo(_relative_id(file, root), tuple(data.shape[:3]),
                                             affine=np.asarray(geometry["affine"]),
                                             geometry=geometry)


def _volume_source(source: Path, preprocessing: Preprocessing) -> bool:
    """Whether `source` holds volumes: a volume file, a folder for a model of volumes, or a
    folder without 2D images."""
    if is_nifti(source) or is_itk_volume(source):
        return True
    return source.is_dir() and (len(preprocessing.raw_shape) == 4 or not list_images(source))


# ------------------------------------------------------------------------------------------------


def load_inputs(source: Path, preprocessing: Preprocessing, window: Window = None
                ) -> tuple[Any, list[InputInfo]]:
    """The raw inputs at `source` (a .npy file, volumes or images) and what the writers need
    about each one."""
    if source.suffix == ".npy":
        return load_array_inputs(source, preprocessing)
    if _volume_source(source, preprocessing):
        return load_nifti_inputs(source, preprocessing)
    return load_image_inputs(source, preprocessing, window)


#: `cnnkit predict` reads, predicts and writes this many inputs at a time
CHUNK = 256


def input_chunks(source: Path, preprocessing: Preprocessing, chunk: int = CHUNK,
                 window: Window = None) -> Iterator[tuple[Any, list[InputInfo]]]:
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
    nifti = _volume_source(source, preprocessing)
    files = _files(source, "nifti" if nifti else "image")
    if not files:
        yield load_inputs(source, preprocessing, window)  # names what is missing
        return
    for start in range(0, len(files), chunk):
        part = files[start:start + chunk]
        yield (load_nifti_files(part, source, preprocessing) if nifti
               else load_image_files(part, source, preprocessing, window))
