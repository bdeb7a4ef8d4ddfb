"""Prediction writers of `cnnkit predict`: a task says what its outputs mean (a table, images),
and the writer for its `output_kind` decides which files hold them.

    table                   a CSV at `path`
    counts                  a CSV at `path`, and the density maps beside it as `<stem>_density.npy`
    images                  one file per input in the folder `path` (PNG, NIfTI or .npy)
    images_and_embeddings   the images, and `embeddings.npy` / `embeddings.csv` in that folder
    heads                   each head's own kind, the head name added: `preds.csv` ->
                            `preds_class.csv`, `masks/` -> `masks_mask/`
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.io.image_files import InputInfo, save_npy, write_array
from cnnkit.io.rundir import write_text
from cnnkit.tasks.base import PredictionTable

EMBEDDINGS = "embeddings"

#: (task, outputs, ids, class_names, path, inputs) -> None
Writer = Callable[[Any, Any, list[str], list[str] | None, Path, list[InputInfo] | None], None]


def write_table(path: Path, table: PredictionTable) -> Path:
    """The table as a CSV; float cells are written with the table's `float_format`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([format(cell, table.float_format)
                         if isinstance(cell, float | np.floating) else cell for cell in row])
    return write_text(path, buffer.getvalue())


def write_images(task: Any, outputs: Any, infos: list[InputInfo] | None, folder: Path) -> None:
    """One file per input under `folder`, named after the input."""
    images = task.prediction_images(outputs)
    for array, info in zip(images.arrays, infos or [], strict=True):
        write_array(array, info, folder, images.output_format, images.png_scale)


def _table(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None, path: Path,
           infos: list[InputInfo] | None) -> None:
    write_table(path, task.prediction_table(outputs, ids, class_names))


def _counts(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None, path: Path,
            infos: list[InputInfo] | None) -> None:
    write_table(path, task.prediction_table(outputs, ids, class_names))
    save_npy(path.with_name(f"{path.stem}_density.npy"), np.asarray(outputs).astype("float32"))


def _images(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None, path: Path,
            infos: list[InputInfo] | None) -> None:
    write_images(task, outputs, infos, path)


def _images_and_embeddings(task: Any, outputs: Any, ids: list[str],
                           class_names: list[str] | None, path: Path,
                           infos: list[InputInfo] | None) -> None:
    write_images(task, outputs, infos, path)
    save_npy(path / f"{EMBEDDINGS}.npy", outputs.embeddings.astype("float32"))
    write_table(path / f"{EMBEDDINGS}.csv", task.prediction_table(outputs, ids, class_names))


def _heads(task: Any, outputs: Any, ids: list[str], class_names: list[str] | None, path: Path,
           infos: list[InputInfo] | None) -> None:
    stem = _stem(path)
    for head, head_task in task.heads.items():
        target = path.with_name(f"{stem}_{head}{path.name[len(stem):]}")
        write_predictions(head_task, outputs[head], ids, task.head_class_names(head, class_names),
                          target, infos)


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
                      path: Path, inputs: list[InputInfo] | None = None) -> None:
    """Write a task's `outputs` for the samples `ids` to `path` (a file, or a folder for images).

    `inputs` carries what writers of image outputs need about each input (`InputInfo`)."""
    WRITERS[task.output_kind](task, outputs, ids, class_names, Path(path), inputs)
