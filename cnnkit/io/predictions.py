"""Prediction writers of `cnnkit predict`: a task says what its outputs mean (a table, images),
and the writer for its `output_kind` decides which files hold them.

    table                   a CSV at `path`
    counts                  a CSV at `path`, and the density maps beside it as `<stem>_density.npy`
    images                  one file per input in the folder `path` (PNG, NIfTI or .npy), and
                            for label masks `summary.csv` there: size and pixels per class
    images_and_embeddings   the images, and `embeddings.npy` / `embeddings.csv` in that folder
    heads                   each head's own kind, the head name added: `preds.csv` ->
                            `preds_class.csv` and the folder `preds_mask/`, `masks/` -> `masks_mask/`
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.io.image_files import NIFTI_SUFFIXES, InputInfo, output_stem, save_npy, write_array
from cnnkit.io.rundir import write_text
from cnnkit.tasks.base import PredictionTable

EMBEDDINGS = "embeddings"
SUMMARY = "summary.csv"  # per-mask summary beside the masks
IMAGE_KINDS = ("images", "images_and_embeddings")  # output kinds whose `path` is a folder
#: suffixes that name a file, not a folder of outputs
FILE_SUFFIXES = (".csv", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy", ".npz",
                 ".json", ".txt", ".gz", *NIFTI_SUFFIXES)

#: (task, outputs, ids, class_names, path, inputs) -> the per-mask summary rows of label
#: masks (for `write_summary`), or None
Writer = Callable[[Any, Any, list[str], list[str] | None, Path, list[InputInfo] | None],
                  PredictionTable | None]


def write_table(path: Path, table: PredictionTable) -> Path:
    """The table as a CSV; float cells are written with the table's `float_format`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([format(cell, table.float_format)
                         if isinstance(cell, float | np.floating) else cell for cell in row])
    return write_text(path, buffer.getvalue())


def check_output_folder(task: Any, path: Path) -> None:
    """Tasks with image outputs write a folder: a name with a file suffix (`masks.csv`) or an
    existing file is refused before anything is predicted."""
    if task.output_kind not in IMAGE_KINDS:
        return
    if path.suffix.lower() in FILE_SUFFIXES or path.is_file():
        raise ConfigError(f"`output={path}`: {task.name} writes one file per input into a "
                          f"folder, and this names a file. Expected a folder name, e.g. "
                          f"output={path.parent / output_stem(path.name)}")


def write_images(task: Any, outputs: Any, infos: list[InputInfo] | None,
                 folder: Path) -> PredictionTable | None:
    """One file per input under `folder`, named after the input (`a/b/x.png` -> `a/b/x.png`);
    label masks of more than two classes as palette PNGs. Returns label masks' summary rows."""
    images = task.prediction_images(outputs)
    names = images.class_names
    for array, info in zip(images.arrays, infos or [], strict=True):
        write_array(array, info, folder, images.output_format, images.png_scale,
                    palette=bool(names) and len(names) > 2)
    return mask_summary(images.arrays, infos or [], names) if names else None


def mask_summary(masks: list[np.ndarray], infos: list[InputInfo], class_names: list[str]
                 ) -> PredictionTable:
    """Per mask: its id, size, and the pixels (voxels) and fraction of the image each class
    covers."""
    axes = ["height", "width"] if not masks or masks[0].ndim == 3 else ["depth", "height", "width"]
    header = ["id", *axes, *(f"pixels_{c}" for c in class_names),
              *(f"fraction_{c}" for c in class_names)]
    rows = []
    for mask, info in zip(masks, infos, strict=True):
        counts = np.bincount(np.asarray(mask).ravel().astype("int64"), minlength=len(class_names))
        total = max(int(counts.sum()), 1)
        rows.append([info.id, *mask.shape[:-1], *map(int, counts[:len(class_names)]),
                     *(float(n / total) for n in counts[:len(class_names)])])
    return PredictionTable(header, rows, float_format=".6f")


def write_summary(folder: Path, tables: list[PredictionTable]) -> Path | None:
    """The summaries of every chunk of masks as one `summary.csv` in `folder`."""
    if not tables:
        return None
    return write_table(folder / SUMMARY, PredictionTable(
        tables[0].header, [row for table in tables for row in table.rows], tables[0].float_format))


def _table(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None, path: Path,
           infos: list[InputInfo] | None) -> None:
    write_table(path, task.prediction_table(outputs, ids, class_names))


def _counts(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None, path: Path,
            infos: list[InputInfo] | None) -> None:
    write_table(path, task.prediction_table(outputs, ids, class_names))
    save_npy(path.with_name(f"{path.stem}_density.npy"), np.asarray(outputs).astype("float32"))


def _images(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None, path: Path,
            infos: list[InputInfo] | None) -> PredictionTable | None:
    return write_images(task, outputs, infos, path)


def _images_and_embeddings(task: Any, outputs: Any, ids: list[str],
                           class_names: list[str] | None, path: Path,
                           infos: list[InputInfo] | None) -> PredictionTable | None:
    summary = write_images(task, outputs, infos, path)
    save_npy(path / f"{EMBEDDINGS}.npy", outputs.embeddings.astype("float32"))
    write_table(path / f"{EMBEDDINGS}.csv", task.prediction_table(outputs, ids, class_names))
    return summary


def _heads(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None, path: Path,
           infos: list[InputInfo] | None) -> None:
    stem = _stem(path)
    for head, head_task in task.heads.items():
        # files keep the suffix (preds_class.csv); image heads are folders (preds_mask)
        folder = head_task.output_kind in ("images", "images_and_embeddings")
        suffix = "" if folder else path.name[len(stem):]
        target = path.with_name(f"{stem}_{head}{suffix}")
        summary = write_predictions(head_task, outputs[head], ids,
                                    task.head_class_names(head, class_names), target, infos)
        write_summary(target, [summary] if summary else [])  # heads are written once, whole


def _stem(path: Path) -> str:
    """`preds.csv` -> `preds`, `vol.nii.gz` -> `vol`, `masks` -> `masks`."""
    name = path.name
    return name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else Path(name).stem


WRITERS: dict[str, Writer] = {
    "table": _table,
    "counts": _counts,
    "images": _images,
    "images_and_embeddings": _images_and_embeddings,
    "heads": _heads,
}


def write_predictions(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None,
                      path: Path, inputs: list[InputInfo] | None = None
                      ) -> PredictionTable | None:
    """Write a task's `outputs` for the samples `ids` to `path` (a file, or a folder for images).

    `inputs` carries what writers of image outputs need about each input (`InputInfo`).
    Returns the summary rows of label masks, which the caller gathers over its chunks of
    inputs into `write_summary`."""
    return WRITERS[task.output_kind](task, outputs, ids, class_names, Path(path), inputs)
