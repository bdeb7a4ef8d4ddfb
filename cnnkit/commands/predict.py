"""`cnnkit predict run=RUN_DIR input=PATH output=FILE`: apply a trained run to new inputs.

PATH is an image file, a folder of images, or a `.npy` array of raw inputs in the dataset's own
form (e.g. N x 8 x 8 digits with values 0-16). The run's preprocessing is applied unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.commands.common import apply_overrides, console, split_named_args
from cnnkit.data.images import IMAGE_SUFFIXES, list_images, read_image
from cnnkit.data.pipeline import Preprocessing
from cnnkit.errors import DataError
from cnnkit.rundir import RunDir
from cnnkit.tasks import get_task

USAGE = "cnnkit predict run=RUN_DIR input=PATH output=FILE"


def load_array_inputs(path: Path, preprocessing: Preprocessing) -> tuple[np.ndarray, list[str]]:
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
    elif len(raw) == 3 and x.ndim == 4 and shape[-1] == raw[-1]:
        pass  # a batch of images of another size: the preprocessing resizes them
    else:
        raise DataError(
            f"`input={path}` has shape {tuple(shape)}. Expected (N, {', '.join(map(str, raw))})"
            + (f" or (N, {', '.join(map(str, raw[:-1]))})" if raw[-1] == 1 else "")
        )
    return x.astype("float32"), [str(i) for i in range(len(x))]


def load_image_inputs(path: Path, preprocessing: Preprocessing) -> tuple[list[np.ndarray], list[str]]:
    """Image files in the source's raw value range; ids are paths relative to `path`."""
    files = [path] if path.is_file() else list_images(path)
    if not files:
        raise DataError(f"`input={path}` holds no images. Expected files ending in "
                        f"{', '.join(IMAGE_SUFFIXES)}")
    channels = int(preprocessing.raw_shape[-1])
    images = [read_image(f, channels) * preprocessing.value_max for f in files]
    ids = [f.name if path.is_file() else str(f.relative_to(path)) for f in files]
    return images, ids


def preprocess_inputs(inputs: Any, preprocessing: Preprocessing) -> np.ndarray:
    """Apply the run's preprocessing to an array batch or a list of differently sized images."""
    if isinstance(inputs, np.ndarray):
        return np.asarray(preprocessing(inputs))
    return np.stack([np.asarray(preprocessing(image[np.newaxis]))[0] for image in inputs])


def run(args: list[str]) -> dict[str, Any]:
    named, overrides = split_named_args(
        args,
        {"run": "the trained run directory", "input": "an image, a folder of images or a .npy file",
         "output": "the file to write (CSV for classification)"},
        USAGE,
    )
    run_dir = RunDir.open(named["run"])
    cfg = apply_overrides(run_dir.load_config(), overrides)
    source = Path(named["input"]).expanduser()
    if not source.exists():
        raise DataError(f"`input={source}`: no such file or folder.")
    preprocessing = run_dir.load_preprocessing()
    if source.suffix == ".npy":
        inputs, ids = load_array_inputs(source, preprocessing)
    else:
        inputs, ids = load_image_inputs(source, preprocessing)
    batch = preprocess_inputs(inputs, preprocessing)
    model = run_dir.load_model()
    task = get_task(cfg.task)
    outputs = task.predict(model, batch)
    output = Path(named["output"]).expanduser()
    task.write_predictions(outputs, ids, preprocessing.class_names, output)
    console().print(f"Wrote {len(ids)} predictions to {output}")
    return {"count": len(ids), "output": str(output)}
