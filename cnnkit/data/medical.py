"""Medical image formats beyond NIfTI: DICOM (pydicom) and MetaImage/NRRD (SimpleITK), with
their patient geometry, so a scanner's files train and predict without conversion.

- A 2D DICOM file (`.dcm`, or no suffix and the DICM preamble) is an image for the folder and CSV
  sources and `cnnkit predict`. RescaleSlope/RescaleIntercept are applied (CT: Hounsfield units),
  then a linear window - `data.window` [center, width], else the file's WindowCenter/WindowWidth,
  else the whole range its stored bits can hold - is mapped to 0..65535: DICOM files enter the
  pipeline as 16-bit images (value_max 65535) like 16-bit PNGs, MONOCHROME1 inverted so that
  bright means dense. Set `data.window` when files come from several series: the same value then
  maps to the same input in every file. Colour (RGB, 8-bit) files are taken as they are.
- A folder of 2D DICOM files (one slice each) is one volume: slices sorted along the slice normal
  by ImagePositionPatient (InstanceNumber without positions), voxel spacing from PixelSpacing and
  the slice positions, values rescaled (no window: volumes keep raw values, as NIfTI ones).
- MetaImage (`.mha`, `.mhd`) and NRRD (`.nrrd`, `.nhdr`) volumes are read and written with
  SimpleITK. Writing DICOM (SEG) is out of scope: a mask of a DICOM series is written as NIfTI
  with the series geometry (cnnkit/io/image_files.py).

Volumes come in NIfTI's voxel order (i, j, k) with channels last, so one array saved as .nii and
as .mha reads equal. Geometry is a dict: "format" (the suffix an output is written with, or
"dicom"), "spacing", "origin" and "direction" (3x3 row-major, columns the i, j, k axes) in ITK's
LPS patient coordinates, and "affine", the RAS voxel -> mm matrix nibabel writes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.images import DICOM_SUFFIXES, MAX_16BIT, BadImage

ITK_SUFFIXES = (".mha", ".mhd", ".nrrd", ".nhdr")
#: the single-file form an output of each input suffix is written in (.mhd/.nhdr keep the voxels
#: in a second file)
ITK_OUTPUT = {".mha": ".mha", ".mhd": ".mha", ".nrrd": ".nrrd", ".nhdr": ".nrrd"}
PREAMBLE = 128  # DICOM Part 10 files: 128 bytes, then "DICM"
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
GAP_TOLERANCE = 0.01  # slice gaps may differ by 1 % (rounded positions) before a gap is refused


def has_dicom_preamble(path: Path) -> bool:
    """Whether `path` starts like a DICOM Part 10 file (for files without a suffix)."""
    try:
        with path.open("rb") as file:
            file.seek(PREAMBLE)
            return file.read(4) == b"DICM"
    except OSError:
        return False


def is_dicom(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in DICOM_SUFFIXES or (not suffix and path.is_file() and has_dicom_preamble(path))


def is_itk_volume(path: Path) -> bool:
    return path.suffix.lower() in ITK_SUFFIXES and path.is_file()


def dicom_files(folder: Path) -> list[Path]:
    """The DICOM files directly in `folder` (the slices of a series), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_dicom(p))


def is_medical_volume(path: Path) -> bool:
    """A MetaImage/NRRD file, or a folder holding a DICOM series."""
    return is_itk_volume(path) or (path.is_dir() and bool(dicom_files(path)))


def _dataset(path: Path, pixels: bool = True) -> Any:
    import pydicom

    try:
        return pydicom.dcmread(path, stop_before_pixels=not pixels)
    except Exception as exc:  # pydicom raises many types (InvalidDicomError, EOFError, KeyError)
        raise BadImage(f"not a readable DICOM file ({str(exc) or type(exc).__name__})") from exc


def _rescaled(ds: Any) -> np.ndarray:
    """The stored pixels with RescaleSlope/RescaleIntercept applied, float32."""
    try:
        array = np.asarray(ds.pixel_array)
    except Exception as exc:  # missing pixel data, unsupported transfer syntax, truncated data
        raise BadImage(f"cannot decode its pixel data ({str(exc) or type(exc).__name__})") from exc
    colour = int(ds.get("SamplesPerPixel", 1)) == 3
    if array.ndim != (3 if colour else 2):
        raise BadImage(f"expected one 2D frame, got pixel data of shape {array.shape} "
                       "(multi-frame files are not supported)")
    if colour:
        return array
    slope = float(ds.get("RescaleSlope", 1) or 1)
    return array.astype("float32") * slope + float(ds.get("RescaleIntercept", 0) or 0)


def _first(value: Any) -> float:
    """WindowCenter/WindowWidth may hold several windows: the first is the default one."""
    return float(value[0] if isinstance(value, Sequence) and not isinstance(value, str) else value)


def window_range(ds: Any, window: list[float] | tuple[float, float] | None) -> tuple[float, float]:
    """(low, high) rescaled values mapped to 0 and 65535: `window` [center, width], else the
    file's window, else the range its stored bits hold."""
    if window is not None:
        center, width = (float(v) for v in window)
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
    else:
        bits = int(ds.get("BitsStored", 16))
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        ends = sorted((low * slope + intercept, high * slope + intercept))
        return ends[0], ends[1]
    if width <= 0:
        raise BadImage(f"window width must be positive, got center {center:g} width {width:g}")
    return center - width / 2, center + width / 2


def _resized(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    if array.dtype == np.uint16:  # Pillow resizes 16-bit data as 32-bit integers
        image = Image.fromarray(array[..., 0].astype("int32"))
        out = np.asarray(image.resize((size[1], size[0]), Image.Resampling.BILINEAR))
        return np.clip(out, 0, MAX_16BIT).astype("uint16")[..., None]
    image = Image.fromarray(array)
    return np.asarray(image.resize((size[1], size[0]), Image.Resampling.BILINEAR))


def decode_dicom(path: Path, size: tuple[int, int] | None = None,
                 window: list[float] | tuple[float, float] | None = None
                 ) -> tuple[np.ndarray, tuple[int, int]]:
    """One 2D DICOM file as (H, W, 1) uint16 windowed values (RGB files: (H, W, 3) uint8),
    resized to `size` if given, and its size on disk (H, W)."""
    ds = _dataset(path)
    pixels = _rescaled(ds)
    original = (int(pixels.shape[0]), int(pixels.shape[1]))
    if pixels.ndim == 3:
        if pixels.dtype != np.uint8:
            raise BadImage(f"colour DICOM files must be 8-bit, got {pixels.dtype}")
        array = pixels
    else:
        low, high = window_range(ds, window)
        scaled = np.clip((pixels - low) / max(high - low, 1e-6), 0.0, 1.0)
        if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
            scaled = 1.0 - scaled
        array = np.rint(scaled * MAX_16BIT).astype("uint16")[..., None]
    if size is not None and original != tuple(size):
        array = _resized(array, size)
    return array, original


def probe_dicom(path: Path) -> tuple[tuple[int, int], int]:
    """(H, W) and channels of a DICOM file from its header (no pixel data read)."""
    ds = _dataset(path, pixels=False)
    if "Rows" not in ds or "Columns" not in ds:
        raise BadImage("no Rows/Columns: not a DICOM image")
    return (int(ds.Rows), int(ds.Columns)), 3 if int(ds.get("SamplesPerPixel", 1)) == 3 else 1


def ras_affine(spacing: list[float], origin: list[float], direction: list[float]) -> list[list[float]]:
    """The RAS voxel -> mm matrix (NIfTI's) of an LPS geometry (DICOM's, ITK's)."""
    lps = np.eye(4)
    lps[:3, :3] = np.asarray(direction, "float64").reshape(3, 3) * np.asarray(spacing)
    lps[:3, 3] = origin
    return (LPS_TO_RAS @ lps).tolist()


def _geometry(fmt: str, spacing: Any, origin: Any, direction: Any) -> dict[str, Any]:
    spacing, origin, direction = ([float(v) for v in x] for x in (spacing, origin, direction))
    return {"format": fmt, "spacing": spacing, "origin": origin, "direction": direction,
            "affine": ras_affine(spacing, origin, direction)}


def _slice_order(slices: list[tuple[Path, Any]], normal: np.ndarray
                 ) -> tuple[list[int], float | None]:
    """Slice order along the normal (by position, else InstanceNumber) and the slice spacing
    the positions give (None without positions)."""
    if all("ImagePositionPatient" in ds for _, ds in slices):
        heights = np.asarray([normal @ np.asarray(ds.ImagePositionPatient, "float64")
                              for _, ds in slices])
        order = [int(i) for i in np.argsort(heights, kind="stable")]
        if len(order) < 2:
            return order, None
        gaps = np.diff(heights[order])
        if gaps.min() <= 1e-6:
            same = order[int(np.argmin(gaps))]
            raise BadImage(f"slices {slices[same][0].name} and {slices[order[order.index(same) + 1]][0].name} "
                           "share one position: expected one slice per position")
        if gaps.max() - gaps.min() > GAP_TOLERANCE * gaps.mean():
            raise BadImage(f"slice gaps range from {gaps.min():g} to {gaps.max():g} mm: expected "
                           "evenly spaced slices (is a slice missing?)")
        return order, float(gaps.mean())
    numbers = [int(ds.get("InstanceNumber", 0) or 0) for _, ds in slices]
    return [int(i) for i in np.argsort(numbers, kind="stable")], None


def read_dicom_series(folder: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """The DICOM files of `folder` as one (i, j, k, 1) float32 volume and its geometry."""
    files = dicom_files(folder)
    if not files:
        raise BadImage("holds no DICOM files")
    slices = []
    for file in files:
        try:
            slices.append((file, _dataset(file)))
        except BadImage as exc:
            raise BadImage(f"slice {file.name}: {exc}") from exc
    first_file, first = slices[0]
    orientation = [float(v) for v in first.get("ImageOrientationPatient", [1, 0, 0, 0, 1, 0])]
    for file, ds in slices[1:]:
        if (ds.get("Rows"), ds.get("Columns")) != (first.get("Rows"), first.get("Columns")):
            raise BadImage(f"slice {file.name} is {ds.get('Rows')}x{ds.get('Columns')} but "
                           f"{first_file.name} is {first.get('Rows')}x{first.get('Columns')}: "
                           "expected slices of one size")
        other = [float(v) for v in ds.get("ImageOrientationPatient", [1, 0, 0, 0, 1, 0])]
        if not np.allclose(other, orientation, atol=1e-4):
            raise BadImage(f"slice {file.name} has orientation {other} but {first_file.name} has "
                           f"{orientation}: expected one orientation for the series")
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row, column)
    order, gap = _slice_order(slices, normal)
    if gap is None:
        gap = float(first.get("SpacingBetweenSlices", 0) or first.get("SliceThickness", 1) or 1)
    pixel = [float(v) for v in first.get("PixelSpacing", [1.0, 1.0])]  # [between rows, columns]
    planes = []
    for i in order:
        file, ds = slices[i]
        try:
            plane = _rescaled(ds)
        except BadImage as exc:
            raise BadImage(f"slice {file.name}: {exc}") from exc
        if plane.ndim != 2:
            raise BadImage(f"slice {file.name} is colour: expected gray slices for a volume")
        planes.append(plane.T)  # (rows, columns) = (j, i) -> (i, j)
    origin = slices[order[0]][1].get("ImagePositionPatient", [0.0, 0.0, 0.0])
    direction = np.stack([row, column, normal], axis=1).reshape(-1)
    volume = np.stack(planes, axis=-1).astype("float32")[..., None]
    return volume, _geometry("dicom", [pixel[1], pixel[0], gap], origin, direction)


def _itk_error(exc: Exception) -> str:
    """The line of a SimpleITK error that says what went wrong (its message is a traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in reversed(lines) if "ERROR" in line), lines[-1] if lines else "")
    reason = re.sub(r"^\w+\(0x[0-9a-f]+\):\s*", "", reason.split("ERROR:", 1)[-1].strip())
    return reason or type(exc).__name__


def read_itk_volume(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """A MetaImage/NRRD volume as (i, j, k, C) and its geometry (SimpleITK)."""
    import SimpleITK as sitk

    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise BadImage(_itk_error(exc)) from exc
    if image.GetDimension() != 3:
        raise BadImage(f"expected a 3D volume, got {image.GetDimension()} dimensions "
                       f"{image.GetSize()}")
    array = sitk.GetArrayFromImage(image)  # (k, j, i) or (k, j, i, C): C-order of ITK's x, y, z
    array = array.transpose(2, 1, 0) if array.ndim == 3 else array.transpose(2, 1, 0, 3)
    array = array[..., None] if array.ndim == 3 else array
    fmt = ITK_OUTPUT[path.suffix.lower()]
    return array, _geometry(fmt, image.GetSpacing(), image.GetOrigin(), image.GetDirection())


def read_medical_volume(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """A MetaImage/NRRD file or a DICOM series folder as (i, j, k, C) and its geometry."""
    return read_dicom_series(path) if path.is_dir() else read_itk_volume(path)


def write_itk_volume(array: np.ndarray, geometry: dict[str, Any], path: Path) -> None:
    """(i, j, k[, C]) written with SimpleITK with `geometry`'s spacing, origin and direction;
    the format follows `path`'s suffix (.mha, .nrrd)."""
    import SimpleITK as sitk

    data = array[..., 0] if array.ndim == 4 and array.shape[-1] == 1 else array
    vector = data.ndim == 4
    image = sitk.GetImageFromArray(
        np.ascontiguousarray(data.transpose(2, 1, 0, 3) if vector else data.transpose(2, 1, 0)),
        isVector=vector)
    image.SetSpacing([float(v) for v in geometry["spacing"]])
    image.SetOrigin([float(v) for v in geometry["origin"]])
    image.SetDirection([float(v) for v in geometry["direction"]])
    sitk.WriteImage(image, str(path), useCompression=True)
