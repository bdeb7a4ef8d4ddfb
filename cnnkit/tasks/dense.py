"""What tasks with image-shaped outputs share (segmentation, reconstruction): running a model
at each input's own size, and writing each output as PNG, NIfTI or .npy beside its input's name.

A model trained on fixed-size crops is rebuilt with free spatial dimensions (same weights), so
a fully convolutional network predicts a 512x512 image at 512x512. Inputs are padded to a
multiple of `task.size_multiple` (the network's total downsampling) and outputs cropped back.
Models that are not fully convolutional run at their training size, and outputs are resized to
the input's size.
"""

from __future__ import annotations

import copy
import gzip
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import DataError

NIFTI_SUFFIXES = (".nii", ".nii.gz")
OUTPUT_FORMATS = ("auto", "png", "nifti", "npy")


@dataclass
class InputInfo:
    """What a writer needs about one input: its name, spatial size, and NIfTI geometry."""

    id: str
    size: tuple[int, ...]  # spatial shape of the raw input (H, W) or (X, Y, Z)
    affine: Any = None  # 4x4 voxel -> mm matrix of a NIfTI input
    header: Any = None  # its nibabel header (spacing, units), reused for the output


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def output_stem(sample_id: str) -> str:
    """`sub/a.nii.gz` -> `sub/a`: the output keeps the input's relative name."""
    for suffix in (".nii.gz", *(s for s in NIFTI_SUFFIXES if s != ".nii.gz")):
        if sample_id.lower().endswith(suffix):
            return sample_id[: -len(suffix)]
    return str(Path(sample_id).with_suffix(""))


def fully_convolutional(model: Any) -> Any | None:
    """The same network with free spatial input dimensions, or None if it needs a fixed size
    (dense layers, flatten) or is not a functional model."""
    import keras

    try:
        config = copy.deepcopy(model.get_config())
        inputs = [layer for layer in config["layers"] if layer["class_name"] == "InputLayer"]
        if len(inputs) != 1:
            return None
        shape = inputs[0]["config"]["batch_shape"]
        inputs[0]["config"]["batch_shape"] = [shape[0], *([None] * (len(shape) - 2)), shape[-1]]
        flexible = keras.Model.from_config(config)
        flexible.set_weights(model.get_weights())
        # a flatten/dense head may still build; it fails (or loses the grid) on another size
        probe = np.zeros((1, *(2 * int(n) for n in shape[1:-1]), shape[-1]), "float32")
        out_shape = tuple(np.shape(flexible(probe)))
        if len(out_shape) != len(shape) or out_shape[1:-1] != probe.shape[1:-1]:
            return None
        return flexible
    except Exception:  # noqa: BLE001 - any failure to rebuild or run means "not convolutional"
        return None


def _pad_to_multiple(x: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[slice, ...]]:
    """Reflect-pad the spatial axes of one (spatial..., C) array; the slices undo it."""
    pads = [(0, (-n) % multiple) for n in x.shape[:-1]] + [(0, 0)]
    crop = tuple(slice(0, n) for n in x.shape[:-1])
    return np.pad(x, pads, mode="reflect" if min(x.shape[:-1]) > 1 else "edge"), crop


def resize_output(y: np.ndarray, size: tuple[int, ...], nearest: bool) -> np.ndarray:
    """Resize one (spatial..., C) output to `size` (nearest for labels, linear otherwise)."""
    if tuple(y.shape[:-1]) == tuple(size):
        return y
    from scipy.ndimage import zoom

    factors = [s / n for s, n in zip(size, y.shape[:-1], strict=True)] + [1.0]
    return zoom(y, factors, order=0 if nearest else 1, mode="nearest", grid_mode=True)


def predict_dense(model: Any, raw_inputs: list[np.ndarray], preprocessing: Any,
                  size_multiple: int, nearest: bool) -> list[np.ndarray]:
    """Model outputs, one (spatial..., C) array per raw input, at that input's spatial size."""
    flexible = fully_convolutional(model)
    outputs = []
    for raw in raw_inputs:
        if flexible is not None:
            native = replace(preprocessing, target_shape=[*raw.shape[:-1],
                                                          preprocessing.target_shape[-1]])
            x, crop = _pad_to_multiple(np.asarray(native(raw[np.newaxis]))[0], size_multiple)
            y = np.asarray(flexible.predict(x[np.newaxis], verbose=0))[0][crop]
        else:
            y = np.asarray(model.predict(np.asarray(preprocessing(raw[np.newaxis])), verbose=0))[0]
        outputs.append(resize_output(y, raw.shape[:-1], nearest))
    return outputs


def write_array(array: np.ndarray, info: InputInfo, folder: Path, fmt: str,
                png_scale: float) -> Path:
    """Write one output (spatial..., C) under `folder`; returns the file written.

    `fmt` auto: NIfTI for NIfTI inputs, PNG for 2D images, .npy otherwise. PNG values are
    multiplied by `png_scale` and stored as 8-bit; NIfTI keeps the input's affine and header.
    """
    from cnnkit.io.rundir import atomic_write

    if fmt == "auto":
        fmt = "nifti" if info.affine is not None else "png" if array.ndim == 3 else "npy"
    stem = folder / output_stem(info.id)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        from PIL import Image

        if array.ndim != 3 or array.shape[-1] not in (1, 3):
            raise DataError(f"Cannot write output of shape {array.shape} for {info.id} as PNG: "
                            "expected a 2D image with 1 or 3 channels. Use task.output_format=npy")
        pixels = np.clip(np.rint(array * png_scale), 0, 255).astype("uint8")
        image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
        return atomic_write(stem.with_name(stem.name + ".png"),
                            lambda tmp: image.save(tmp, format="PNG"))
    if fmt == "nifti":
        import nibabel as nib

        data = array[..., 0] if array.shape[-1] == 1 else array
        affine = np.eye(4) if info.affine is None else np.asarray(info.affine)
        header = info.header.copy() if info.header is not None else None
        image = nib.Nifti1Image(data, affine, header)
        image.set_data_dtype(data.dtype)
        payload = gzip.compress(image.to_bytes())  # atomic_write's temporary name is not .nii.gz
        return atomic_write(stem.with_name(stem.name + ".nii.gz"), lambda tmp: tmp.write_bytes(payload))
    with_suffix = stem.with_name(stem.name + ".npy")
    return atomic_write(with_suffix, lambda tmp: np.save(tmp, array, allow_pickle=False))


def check_output_format(value: str) -> str:
    from cnnkit.errors import ConfigError

    if value not in OUTPUT_FORMATS:
        raise ConfigError(f"`task.output_format` must be one of {', '.join(OUTPUT_FORMATS)}. "
                          f"Received: {value!r}")
    return value
