"""Image folders: one sub-folder per class, or `images/` + `masks/` for segmentation.

Either layout may sit directly under `data.path` (val/test are then carved from it) or under
`train/`, `val/`, `test/` sub-folders (missing val/test are carved from train).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.file_listing import ListedFiles, list_file_splits
from cnnkit.data.fingerprint import files_read
from cnnkit.data.held_out import check_held_out, hold_out
from cnnkit.data.images import IMAGE_SUFFIXES, list_images
from cnnkit.data.input_size import STORED
from cnnkit.data.sources import (
    SOURCES,
    HeldOutSchema,
    SourceData,
    check_split_keys,
    typed_data_config,
)
from cnnkit.data.splits import SPLIT_NAMES, assemble_splits, pattern_groups
from cnnkit.errors import ConfigError, DataError


@dataclass
class FolderSchema(HeldOutSchema):
    source: str = "folder"
    path: str = ""
    classes: list[str] | None = None  # class folders (or mask values 0..n-1), in label order
    channels: int | None = None  # 1, 3 or 4; null: the widest found (gray + RGB -> RGB)
    images_dir: str = "images"  # segmentation layout: images here...
    masks_dir: str = "masks"  # ...and a mask with the same file stem here

    @staticmethod
    def provides(values: dict[str, Any]) -> tuple[Any, str] | None:
        root = Path(str(values.get("path") or "")).expanduser()
        train = root / "train" if (root / "train").is_dir() else root
        if not root.is_dir():
            return None
        if (train / str(values.get("images_dir"))).is_dir():
            return "mask", f"the {values.get('images_dir')}/ + {values.get('masks_dir')}/ layout of data.path"
        return "label", "the class sub-folders of data.path"


def existing_dir(path: str, key: str = "data.path") -> Path:
    """`path` as a folder that exists, or a DataError naming the key."""
    if not path:
        raise ConfigError(f"`{key}` is required: the folder holding the images.")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"`{key}` is not a folder. Received: {str(folder)!r}")
    return folder


def split_folders(root: Path) -> dict[str, Path]:
    """train/val/test sub-folders when the data ships split, else {"train": root}."""
    found = {name: root / name for name in SPLIT_NAMES if (root / name).is_dir()}
    return found if "train" in found else {"train": root}


def class_files(
    folder: Path, classes: list[str] | None
) -> tuple[list[Path], list[str], np.ndarray]:
    """Files and class names of one class-per-sub-folder tree; `classes` fixes the label order."""
    subdirs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not subdirs:
        loose = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        hint = f" (found {len(loose)} images directly in it)" if loose else ""
        raise DataError(
            f"{folder} has no sub-folders{hint}. Expected one sub-folder of images per class, "
            "or `images/` and `masks/` sub-folders for segmentation."
        )
    names = list(classes) if classes else subdirs
    unknown = [d for d in subdirs if d not in names]
    if unknown:
        raise DataError(
            f"Folder {folder / unknown[0]} is not one of the classes in `data.classes` "
            f"({', '.join(names)})."
        )
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(names):
        if name not in subdirs:
            continue
        found = list_images(folder / name)
        if not found:
            raise DataError(
                f"Class folder {folder / name} holds no images (expected files ending in "
                f"{', '.join(IMAGE_SUFFIXES)})."
            )
        files += found
        labels += [label] * len(found)
    return files, names, np.asarray(labels, "int32")


def mask_pairs(folder: Path, cfg: FolderSchema) -> tuple[list[Path], list[Path]]:
    """Images and their masks, matched by file stem."""
    images = list_images(folder / cfg.images_dir)
    if not images:
        raise DataError(f"Folder {folder / cfg.images_dir} holds no images.")
    masks = {p.stem: p for p in list_images(folder / cfg.masks_dir)}
    missing = [p for p in images if p.stem not in masks]
    if missing:
        raise DataError(
            f"Image {missing[0]} has no mask in {folder / cfg.masks_dir} (masks are matched by "
            f"file stem: expected {missing[0].stem}.png or similar)"
            + (f"; {len(missing) - 1} more images lack masks." if len(missing) > 1 else ".")
        )
    return images, [masks[p.stem] for p in images]


def mask_class_names(values: dict[int, str], classes: list[str] | None) -> list[str]:
    """Names of the mask values (value -> a mask file holding it): `data.classes`, or 0..max
    value found."""
    top = max(values, default=0)
    if classes is None:
        return [str(i) for i in range(max(top, 1) + 1)]
    if top >= len(classes):
        raise DataError(
            f"Mask {values[top]} holds value {top}, outside the {len(classes)} classes of "
            f"`data.classes` ({', '.join(classes)})."
        )
    return list(classes)


def file_source(listed: ListedFiles, carved: dict[str, Any], class_names: list[str] | None,
                classes: list[str] | None, description: str, extra: list[Path] | None = None,
                **meta: Any) -> SourceData:
    """The `SourceData` of a source of image files (folder, CSV), decoded when read."""
    masks = listed.mask_values is not None
    if masks:
        class_names = mask_class_names(listed.mask_values or {}, classes)
    return SourceData(splits=dict(listed.splits), class_names=class_names,
                      value_max=listed.value_max,
                      meta={"description": description, "skipped": len(listed.bad),
                            "files": listed.files,
                            "read_files": files_read(carved, masks, extra=extra or []),
                            STORED: listed.stored, **meta})


def check_folder(data_cfg: Any, config: Any = None) -> None:
    """Files present (no decoding, no TensorFlow): run by the validation pass."""
    check_split_keys(data_cfg)
    check_held_out(data_cfg)
    existing_dir(typed_data_config(FolderSchema, data_cfg).path)


@dataclass
class CarvedFolder:
    """The files of a folder source per split, before any file is opened."""

    root: Path
    carved: dict[str, tuple[Any, Any]]  # split -> (image paths, labels or mask paths)
    class_names: list[str] | None
    segmentation: bool


def carve_folder(cfg: FolderSchema) -> CarvedFolder:
    """List and split the folder (directory listings only), as loading does and as the plan's
    data profile needs without reading the files."""
    root = existing_dir(cfg.path)
    folders = split_folders(root)
    segmentation = (folders["train"] / cfg.images_dir).is_dir() and (
        folders["train"] / cfg.masks_dir).is_dir()
    given: dict[str, tuple[list[Path], Any]] = {}
    class_names = cfg.classes
    for name, folder in folders.items():
        if segmentation:
            images, masks = mask_pairs(folder, cfg)
            given[name] = (images, np.asarray([str(m) for m in masks]))
        else:
            files, class_names, labels = class_files(folder, class_names)
            given[name] = (files, labels)
    given, _ = hold_out(given, {"test": cfg.test_files, "val": cfg.val_files}, folders["train"])
    carved = assemble_splits(given, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                             max_samples=cfg.max_samples, folds=cfg.folds, fold=cfg.fold,
                             groups=pattern_groups(given, cfg.group_pattern))
    return CarvedFolder(root, carved, class_names, segmentation)


@SOURCES.register("folder", schema=FolderSchema, check=check_folder)
def load_folder_source(data_cfg: Any) -> SourceData:
    """List a folder of images: files are decoded as the pipeline reads them."""
    cfg = typed_data_config(FolderSchema, data_cfg)
    found = carve_folder(cfg)
    listed = list_file_splits(found.carved, cfg.image_size, cfg.on_bad_file, cfg.channels,
                              masks=found.segmentation, workers=cfg.workers, window=cfg.window)
    return file_source(listed, found.carved, found.class_names, cfg.classes,
                       f"image folder {found.root}",
                       layout="segmentation" if found.segmentation else "classification")
