"""`cnnkit predict run=RUN_DIR input=PATH output=PATH`: apply a trained run to new inputs.

PATH is an image file, a folder of images, a NIfTI volume (`.nii`, `.nii.gz`) or a folder of
them, or a `.npy` array of raw inputs in the dataset's own form (e.g. N x 8 x 8 digits with values
0-16). The run's preprocessing is applied unchanged. Classification and regression write a CSV to
`output`; tasks with image outputs (segmentation, reconstruction) write one file per input into
the folder `output`, at the input's own size (NIfTI outputs keep the input's affine and header).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.commands.common import apply_overrides, console, split_named_args
from cnnkit.data.images import IMAGE_SUFFIXES, list_images, read_image
from cnnkit.data.pipeline import Preprocessing
from cnnkit.errors import DataError
from cnnkit.io.rundir import RunDir
from cnnkit.tasks import get_task
from cnnkit.tasks.dense import NIFTI_SUFFIXES, InputInfo, is_nifti

USAGE = "cnnkit predict run=RUN_DIR input=PATH output=PATH"


def load_array_inputs(path: Path, preprocessing: Preprocessing) -> tuple[np.ndarray, list[InputInfo]]:
    """Raw examples from a .npy file, shaped (N, *raw_shape); a channel axis is added if absent."""
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"`input={path}` cannot be read as a .npy array: {exc}") from exc
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
    channels = int(preprocessing.raw_shape[-1])
    images = [read_image(f, channels) * preprocessing.value_max for f in files]
    infos = [InputInfo(_relative_id(f, path), tuple(img.shape[:-1])) for f, img in zip(
        files, images, strict=True)]
    return images, infos


def load_nifti_inputs(path: Path, preprocessing: Preprocessing) -> tuple[list[np.ndarray],
                                                                          list[InputInfo]]:
    """NIfTI volumes (nibabel) as (X, Y, Z, C) arrays, with their affine and header."""
    import nibabel as nib

    files = _files(path, "nifti")
    if not files:
        raise DataError(f"`input={path}` holds no NIfTI files (.nii, .nii.gz).")
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
    if source.suffix == ".npy":
        return load_array_inputs(source, preprocessing)
    if is_nifti(source) or (source.is_dir() and not list_images(source)):
        return load_nifti_inputs(source, preprocessing)
    return load_image_inputs(source, preprocessing)


def run(args: list[str]) -> dict[str, Any]:
    """Predict every input and write the task's output (a CSV, or a folder of images/volumes)."""
    named, overrides = split_named_args(
        args,
        {"run": "the trained run directory",
         "input": "an image, a NIfTI volume, a folder of either, or a .npy file",
         "output": "the file (CSV) or folder (image outputs) to write"},
        USAGE,
    )
    run_dir = RunDir.open(named["run"])
    cfg = apply_overrides(run_dir.load_config(), overrides)
    source = Path(named["input"]).expanduser()
    if not source.exists():
        raise DataError(f"`input={source}`: no such file or folder.")
    preprocessing = run_dir.load_preprocessing()
    inputs, infos = load_inputs(source, preprocessing)
    task = get_task(cfg.task, cfg)
    task.load_state(run_dir.path)
    model = run_dir.load_model()
    outputs = task.predict_samples(model, inputs, preprocessing)
    output = Path(named["output"]).expanduser()
    task.write_predictions(outputs, [i.id for i in infos], preprocessing.class_names, output,
                           inputs=infos)
    console().print(f"Wrote {len(infos)} predictions to {output}")
    return {"count": len(infos), "output": str(output)}
