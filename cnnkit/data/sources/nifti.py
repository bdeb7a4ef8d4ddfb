"""3D/4D medical volumes: NIfTI (`.nii`, `.nii.gz`) read with nibabel; MetaImage (`.mha`,
`.mhd`), NRRD (`.nrrd`, `.nhdr`) and DICOM series (an entry of images/ that is a folder of DICOM
slices) read by data/medical.py. Images and masks may mix formats (matched by name without suffix).

Layouts under `data.path` (optionally inside train/ val/ test/ folders):
- `images/` + `masks/`, matched by name: segmentation, masks as integer label volumes;
- `images/` + a CSV (`data.labels`) of file name and label: classification or regression.
Volumes are resampled to `data.spacing` (when set) and resized or centre-cropped/padded to
`data.shape`; `data.window` [center, width] maps that value range to [0, 1] (values outside
clipped; null: raw values). Each volume's affine, voxel spacing and original shape are kept in
`SourceData.meta["volumes"]` so predictions can be written back in the original space.
Arrays keep the file's voxel order (i, j, k) with channels last: (D, H, W, C).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cnnkit.data.fingerprint import files_read
from cnnkit.data.images import BadImage, binary_to_index, decode_all
from cnnkit.data.input_size import STORED, stored_sizes
from cnnkit.data.medical import ITK_SUFFIXES, is_medical_volume, read_medical_volume
from cnnkit.data.sources import (
    SOURCES,
    FileSourceSchema,
    SourceData,
    check_split_keys,
    typed_data_config,
)
from cnnkit.data.sources.csv_files import (
    multilabel_key,
    read_table,
    table_column,
    table_targets,
)
from cnnkit.data.sources.folder import existing_dir, mask_class_names, split_folders
from cnnkit.data.splits import assemble_splits, pattern_groups
from cnnkit.errors import ConfigError, DataError

NIFTI_SUFFIXES = (".nii", ".nii.gz")
VOLUME_FORMATS = f"{', '.join(NIFTI_SUFFIXES + ITK_SUFFIXES)} or a folder of DICOM slices"
FIT_MODES = ("resize", "crop")


@dataclass
class NiftiSchema(FileSourceSchema):
    source: str = "nifti"
    path: str = ""
    shape: list[int] | None = None  # [D, H, W] every volume is fitted to; null: keep (must agree)
    fit: Literal["resize", "crop"] = "resize"  # resize (trilinear; masks nearest) | crop (centre crop / zero pad)
    spacing: list[float] | None = None  # resample to this voxel size (mm) first; null: keep
    images_dir: str = "images"
    masks_dir: str = "masks"
    labels: str | None = None  # CSV of file name + label, relative to `path` unless absolute
    path_column: str = "path"
    label_column: str | None = "label"
    label_separator: str | None = None  # multi-label, as the csv source
    label_columns: list[str] | None = None
    negative_label: str | None = None
    target_columns: list[str] | None = None
    classes: list[str] | None = None

    @staticmethod
    def provides(values: dict[str, Any]) -> tuple[Any, str] | None:
        if values.get("labels") and values.get("target_columns"):
            return "values", "data.target_columns"
        if values.get("labels"):
            return "label", multilabel_key(values) or "data.labels"
        return "mask", f"the {values.get('masks_dir')}/ folder of data.path"

    @staticmethod
    def rank(values: dict[str, Any]) -> int | None:
        return 3

    @staticmethod
    def multilabel(values: dict[str, Any]) -> str | None:
        return multilabel_key(values) if values.get("labels") else None

    @staticmethod
    def target_names(values: dict[str, Any]) -> list[str] | None:
        columns = values.get("target_columns")
        return [str(c) for c in columns] if columns and values.get("labels") else None


def volume_stem(path: Path) -> str:
    name = path.name
    if path.is_dir():  # a DICOM series
        return name
    return name[: -len(".nii.gz")] if name.endswith(".nii.gz") else path.stem


def list_volumes(folder: Path) -> list[Path]:
    """The volumes of `folder`: NIfTI, MetaImage and NRRD files, and DICOM series folders."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p.name.endswith(NIFTI_SUFFIXES) and p.is_file())
                  or is_medical_volume(p))


def fit_shape(volume: np.ndarray, shape: list[int], mode: str, order: int) -> np.ndarray:
    """(D, H, W, C) -> (shape..., C) by interpolation or centre crop / zero padding."""
    from scipy.ndimage import zoom

    current = volume.shape[:3]
    if tuple(current) == tuple(shape):
        return volume
    if mode == "resize":
        factors = [t / c for t, c in zip(shape, current, strict=True)] + [1.0]
        return zoom(volume, factors, order=order, mode="nearest", grid_mode=False)
    out = np.zeros((*shape, volume.shape[-1]), volume.dtype)
    src, dst = [], []
    for have, want in zip(current, shape, strict=True):
        start = max(0, (have - want) // 2)
        pad = max(0, (want - have) // 2)
        length = min(have, want)
        src.append(slice(start, start + length))
        dst.append(slice(pad, pad + length))
    out[tuple(dst)] = volume[tuple(src)]
    return out


def read_volume(path: Path, cfg: NiftiSchema, mask: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """One volume as (D, H, W, C) (float32, or integer labels for masks) and its geometry."""
    from scipy.ndimage import zoom

    data, info = load_volume(path)
    data = data[..., None] if data.ndim == 3 else data
    data = np.rint(data).astype("int32") if mask else data.astype("float32")
    if cfg.window and not mask:
        low = float(cfg.window[0]) - float(cfg.window[1]) / 2
        data = np.clip((data - low) / float(cfg.window[1]), 0.0, 1.0)
    spacing = info["spacing"]
    info["shape"] = list(data.shape[:3])
    order = 0 if mask else 1
    if cfg.spacing:
        factors = [s / t for s, t in zip(spacing, cfg.spacing, strict=True)] + [1.0]
        data = zoom(data, factors, order=order, mode="nearest")
    if cfg.shape:
        data = fit_shape(data, list(cfg.shape), cfg.fit, order)
    return data, info


def load_volume(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """The voxels of one volume file or DICOM series and its geometry (path, affine, spacing;
    other formats than NIfTI also "geometry", see data/medical.py)."""
    if is_medical_volume(path):
        data, geometry = read_medical_volume(path)
        return data, {"path": str(path), "affine": geometry["affine"],
                      "spacing": geometry["spacing"], "geometry": geometry}
    import nibabel as nib

    try:
        image = nib.load(str(path))
        data = np.asanyarray(image.dataobj)
    except Exception as exc:  # nibabel raises many types (ImageFileError, EOFError, zlib.error)
        raise BadImage(str(exc) or type(exc).__name__) from exc
    if data.ndim not in (3, 4):
        raise BadImage(f"expected a 3D or 4D volume, got {data.ndim} dimensions {data.shape}")
    return data, {"path": str(path), "affine": image.affine.tolist(),
                  "spacing": [float(z) for z in image.header.get_zooms()[:3]]}


def _check(cfg: NiftiSchema) -> None:
    if cfg.fit not in FIT_MODES:
        raise ConfigError(f"`data.fit` must be one of {', '.join(FIT_MODES)}. Received: {cfg.fit!r}")
    for key in ("shape", "spacing"):
        value = getattr(cfg, key)
        if value is not None and (len(value) != 3 or min(value) <= 0):
            raise ConfigError(f"`data.{key}` must be 3 positive numbers [D, H, W]. "
                              f"Received: {value!r}")


def _stack(volumes: list[np.ndarray], paths: list[Path]) -> np.ndarray:
    shapes = {v.shape for v in volumes}
    if len(shapes) > 1:
        odd = next(i for i, v in enumerate(volumes) if v.shape != volumes[0].shape)
        raise DataError(f"Volumes differ in shape: {paths[0]} is {volumes[0].shape[:3]} but "
                        f"{paths[odd]} is {volumes[odd].shape[:3]}. Set `data.shape` "
                        "(and `data.fit`) to bring them to one shape.")
    return np.stack(volumes)


def labels_table(cfg: NiftiSchema, root: Path) -> Path:
    """The CSV of labels `data.labels` names (relative to `data.path` unless absolute)."""
    table = Path(str(cfg.labels)).expanduser()
    return table if table.is_absolute() else root / table


def _given(folder: Path, cfg: NiftiSchema, root: Path) -> tuple[list[Path], Any, list[str] | None]:
    """Volumes of one split folder with their targets: mask files or labels from the CSV."""
    images = list_volumes(folder / cfg.images_dir)
    if not images:
        raise DataError(f"Folder {folder / cfg.images_dir} holds no volumes "
                        f"({VOLUME_FORMATS}).")
    if cfg.labels is None:
        masks = {volume_stem(p): p for p in list_volumes(folder / cfg.masks_dir)}
        missing = [p for p in images if volume_stem(p) not in masks]
        if missing:
            raise DataError(f"Volume {missing[0]} has no mask in {folder / cfg.masks_dir} "
                            "(matched by file name), and `data.labels` names no CSV of labels.")
        return images, [masks[volume_stem(p)] for p in images], None
    table = labels_table(cfg, root)
    header, rows = read_table(table)
    column = table_column(header, cfg.path_column, "data.path_column", table)
    targets, class_names = table_targets(rows, cfg, header, table)
    index = {volume_stem(Path(row[column].strip())): i for i, row in enumerate(rows)}
    missing = [p for p in images if volume_stem(p) not in index]
    if missing:
        raise DataError(f"Volume {missing[0]} has no row in {table} (column {column!r}).")
    return images, targets[[index[volume_stem(p)] for p in images]], class_names


def _stored(cfg: NiftiSchema, volumes: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The shapes the volumes hold and how they were fitted: resampling (`data.spacing`) and
    `data.fit=resize` scale them, a centre crop/pad keeps the scale."""
    crop = bool(cfg.shape) and cfg.fit == "crop"
    key = "data.shape, centre crop/pad" if crop else "data.shape" if cfg.shape else "data.spacing"
    shapes = [info["shape"] for infos in volumes.values() for info in infos]
    return stored_sizes("volumes", shapes, key, "crop" if crop else "resize")


def check_nifti(data_cfg: Any, config: Any = None) -> None:
    """Files present (no decoding, no TensorFlow): run by the validation pass."""
    cfg = typed_data_config(NiftiSchema, data_cfg)
    _check(cfg)
    check_split_keys(data_cfg)
    existing_dir(cfg.path)


def carve_volumes(cfg: NiftiSchema) -> tuple[Path, dict[str, tuple[Any, Any]], list[str] | None]:
    """The data folder and its volumes per split (paths with mask paths or labels) with the
    class names of a labels CSV, before any volume is read: loading and the plan's profile."""
    _check(cfg)
    root = existing_dir(cfg.path)
    segmentation = cfg.labels is None
    given, class_names = {}, cfg.classes
    for name, folder in split_folders(root).items():
        images, targets, names = _given(folder, cfg, root)
        class_names = names or class_names
        given[name] = (images, np.asarray([str(t) for t in targets]) if segmentation else targets)
    carved = assemble_splits(given, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                             max_samples=cfg.max_samples, folds=cfg.folds, fold=cfg.fold,
                             groups=pattern_groups(given, cfg.group_pattern))
    return root, carved, class_names


@SOURCES.register("nifti", schema=NiftiSchema, check=check_nifti)
def load_nifti_source(data_cfg: Any) -> SourceData:
    cfg = typed_data_config(NiftiSchema, data_cfg)
    segmentation = cfg.labels is None
    root, carved, class_names = carve_volumes(cfg)
    splits, volumes_meta, skipped = {}, {}, 0
    for name, (images, targets) in carved.items():
        images = list(images)
        decoded = decode_all(images, partial(read_volume, cfg=cfg, mask=False), cfg.on_bad_file,
                             cfg.workers)
        keep = decoded.kept
        skipped += len(decoded.bad)
        if segmentation:
            mask_files = [Path(targets[i]) for i in keep]
            masks = decode_all(mask_files, partial(read_volume, cfg=cfg, mask=True),
                               cfg.on_bad_file, cfg.workers)
            skipped += len(masks.bad)
            for j, info in zip(masks.kept, masks.info, strict=True):
                image_info = decoded.info[j]
                if info["shape"] != image_info["shape"]:
                    raise DataError(f"Volume {image_info['path']} is {image_info['shape']} but "
                                    f"its mask {info['path']} is {info['shape']}.")
            rows = masks.kept
            x = [decoded.images[j] for j in rows]
            y: Any = binary_to_index(_stack(masks.images, mask_files))
            info = [decoded.info[j] for j in rows]
        else:
            x, info, y = decoded.images, decoded.info, np.asarray(targets)[keep]
        splits[name] = (_stack(x, [Path(i["path"]) for i in info]), y)
        volumes_meta[name] = info
    if segmentation:
        values: dict[int, str] = {}
        for name, (_, y) in splits.items():
            for row, info in enumerate(volumes_meta[name]):
                values.setdefault(int(y[row].max()), info["path"])
        class_names = mask_class_names(values, cfg.classes)
    tables = [labels_table(cfg, root)] if cfg.labels else []
    return SourceData(splits=splits, class_names=class_names, value_max=1.0,
                      meta={"description": f"volumes {root}", "skipped": skipped,
                            "volumes": volumes_meta, STORED: _stored(cfg, volumes_meta),
                            "read_files": files_read(carved, segmentation, extra=tables)})
