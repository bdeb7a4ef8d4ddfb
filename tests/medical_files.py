"""Tiny DICOM files written with pydicom for the tests of data/medical.py (unit and e2e)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def write_dicom(path: Path, pixels: np.ndarray, **tags: Any) -> Path:
    """A 2D CT-like DICOM file of int16 `pixels` (rows, columns); `tags` set or override
    attributes (RescaleSlope, ImagePositionPatient, WindowCenter, ...)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = np.ascontiguousarray(pixels, "<i2").tobytes()
    for key, value in tags.items():
        setattr(ds, key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(folder: Path, volume: np.ndarray, spacing=(0.5, 0.7, 2.0),
                 origin=(10.0, -20.0, 30.0), order=None) -> list[Path]:
    """`volume` (i, j, k) as one DICOM file per k slice, axial, files named in `order` (a
    permutation of the slices: file names need not follow positions)."""
    count = volume.shape[2]
    order = list(range(count)) if order is None else order
    files = []
    for name, k in enumerate(order):
        position = [origin[0], origin[1], origin[2] + k * spacing[2]]
        files.append(write_dicom(
            folder / f"f{name:03d}.dcm", volume[:, :, k].T.astype("int16"),
            ImagePositionPatient=position, ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
            PixelSpacing=[spacing[1], spacing[0]], InstanceNumber=k + 1))
    return files
