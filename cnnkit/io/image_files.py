"""Image and volume files of `cnnkit predict`: what a writer needs about each input, and one
output per input written as PNG, NIfTI, MetaImage/NRRD or .npy beside its input's relative name."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import DataError
from cnnkit.io.rundir import atomic_write

NIFTI_SUFFIXES = (".nii", ".nii.gz")


@dataclass
class InputInfo:
    """What a writer needs about one input: its name, spatial size, and NIfTI geometry."""

    id: str
    size: tuple[int, ...]  # spatial shape of the raw input (H, W) or (X, Y, Z)
    affine: Any = None  # 4x4 voxel -> mm (RAS) matrix of a volume input, for NIfTI outputs
    header: Any = None  # its nibabel header (spacing, units), reused for the output
    # MetaImage/NRRD/DICOM-series inputs: format, spacing, origin, direction (data/medical.py)
    geometry: dict[str, Any] | None = None


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def output_stem(sample_id: str) -> str:
    """`sub/a.nii.gz` -> `sub/a`: the output keeps the input's relative name."""
    for suffix in (".nii.gz", *(s for s in NIFTI_SUFFIXES if s != ".nii.gz")):
        if sample_id.lower().endswith(suffix):
            return sample_id[: -len(suffix)]
    return str(Path(sample_id).with_suffix(""))


#: palette PNG colours: background black, then tab10
PALETTE = [(0, 0, 0), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
           (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34),
           (23, 190, 207)]


def palette_image(indices: np.ndarray) -> Any:
    """A mode "P" Pillow image of class indices (H, W): the pixel values stay the indices,
    the palette shows them (0 black, then distinct colours, repeating after ten)."""
    from PIL import Image

    image = Image.fromarray(indices.astype("uint8"))
    colours = [PALETTE[0]] + [PALETTE[1 + i % (len(PALETTE) - 1)] for i in range(255)]
    image.putpalette([channel for colour in colours for channel in colour])
    return image


def write_array(array: np.ndarray, info: InputInfo, folder: Path, fmt: str,
                png_scale: float, palette: bool = False) -> Path:
    """Write one output (spatial..., C) under `folder`; returns the file written.

    `fmt` auto: MetaImage/NRRD for those inputs, NIfTI for NIfTI inputs and DICOM series, PNG
    for 2D images (also DICOM ones), .npy otherwise. PNG values are multiplied by `png_scale`
    and stored as 8-bit, with `palette` as a palette image of class indices (`palette_image`);
    NIfTI keeps the input's affine and header, MetaImage/NRRD its spacing, origin and direction.
    """
    if fmt == "auto":
        fmt = ("itk" if itk_output(info) else "nifti" if info.affine is not None
               else "png" if array.ndim == 3 else "npy")
    stem = folder / output_stem(info.id)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "itk":
        return write_itk(array, info, stem)
    if fmt == "png":
        from PIL import Image

        if array.ndim != 3 or array.shape[-1] not in (1, 3):
            raise DataError(f"Cannot write output of shape {array.shape} for {info.id} as PNG: "
                            "expected a 2D image with 1 or 3 channels. Use task.output_format=npy")
        pixels = np.clip(np.rint(array * png_scale), 0, 255).astype("uint8")
        image = palette_image(pixels[..., 0]) if palette else Image.fromarray(
            pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
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


# --- MetaImage / NRRD outputs (medical formats beyond NIfTI) ---------------------------------

def itk_output(info: InputInfo) -> str | None:
    """The suffix an output of `info`'s input is written with by SimpleITK (.mha, .nrrd), or
    None: NIfTI and DICOM series inputs (DICOM SEG is not written) go another way."""
    geometry = info.geometry or {}
    return geometry.get("format") if geometry.get("format") in (".mha", ".nrrd") else None


def write_itk(array: np.ndarray, info: InputInfo, stem: Path) -> Path:
    """A volume output (X, Y, Z, C) as MetaImage/NRRD with the input's spacing, origin and
    direction."""
    from cnnkit.data.medical import write_itk_volume

    suffix = itk_output(info) or ".mha"
    return atomic_write(stem.with_name(stem.name + suffix),
                        lambda tmp: write_itk_volume(array, info.geometry or {}, tmp))


# ------------------------------------------------------------------------------------------------

def save_npy(path: Path, array: np.ndarray) -> Path:
    """One array as a .npy file, atomically."""
    return atomic_write(path, lambda tmp: np.save(tmp, array))
