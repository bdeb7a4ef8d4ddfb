"""A CSV table of image files: a label column (classification), several labels per image
(multi-label: `|`-separated findings in one column, or one 0/1 column per class), several
numeric target columns (regression: box corners, age...) or a mask column (segmentation).

Paths in the table are relative to the CSV file's folder unless absolute. An optional split
column (train/val/test) keeps a given split; missing val/test are carved from train.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.config.check import setting
from cnnkit.data.file_listing import list_file_splits
from cnnkit.data.held_out import check_held_out, hold_out
from cnnkit.data.sources import (
    SOURCES,
    HeldOutSchema,
    SourceData,
    check_split_keys,
    typed_data_config,
)
from cnnkit.data.sources.folder import file_source
from cnnkit.data.splits import SPLIT_NAMES, assemble_splits, group_ids
from cnnkit.errors import ConfigError, DataError, did_you_mean


@dataclass
class CsvSchema(HeldOutSchema):
    source: str = "csv"
    path: str = ""
    path_column: str = "path"
    label_column: str | None = "label"  # class names or integer indices
    label_separator: str | None = None  # multi-label: "|" splits "Cardiomegaly|Effusion"
    label_columns: list[str] | None = None  # multi-label: one 0/1 column per class
    negative_label: str | None = None  # multi-label: the value meaning none ("No Finding")
    target_columns: list[str] | None = None  # regression: numeric columns, used instead of labels
    mask_column: str | None = None  # segmentation: the mask file of each image
    split_column: str = "split"  # used when the table has it: train / val / test per row
    group_column: str | None = None  # e.g. patient_id: each group stays on one side of a split
    classes: list[str] | None = None  # label order; null: sorted labels found
    channels: int | None = setting(None, min=1, max=4)

    @staticmethod
    def provides(values: dict[str, Any]) -> tuple[Any, str] | None:
        if values.get("mask_column"):
            return "mask", "data.mask_column"
        if values.get("target_columns"):
            return "values", "data.target_columns"
        return "label", multilabel_key(values) or "data.label_column"

    @staticmethod
    def multilabel(values: dict[str, Any]) -> str | None:
        return multilabel_key(values)

    @staticmethod
    def target_names(values: dict[str, Any]) -> list[str] | None:
        columns = values.get("target_columns")
        return [str(c) for c in columns] if columns and not values.get("mask_column") else None


def multilabel_key(values: dict[str, Any]) -> str | None:
    """The key that makes a table's labels multi-hot (CSV and NIfTI labels), or None."""
    if values.get("mask_column") or values.get("target_columns"):
        return None
    return next((f"data.{k}" for k in ("label_columns", "label_separator") if values.get(k)),
                None)


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV file (delimiter sniffed: comma, semicolon or tab)."""
    if not path.is_file():
        raise DataError(f"No such CSV file: {path}")
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect: Any = csv.Sniffer().sniff(text.splitlines()[0] if text else "", ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    rows = list(reader)
    if not rows:
        raise DataError(f"{path} has no data rows.")
    return list(reader.fieldnames or []), rows


def table_column(header: list[str], name: str, key: str, path: Path) -> str:
    if name not in header:
        raise ConfigError(
            f"`{key}` names a column {path} does not have. Received: {name!r}. "
            f"Columns: {', '.join(header)}.{did_you_mean(name, header)}"
        )
    return name


def table_groups(rows: list[dict[str, str]], cfg: CsvSchema, header: list[str], path: Path,
                 files: list[Path]) -> np.ndarray | None:
    """The group of each row: `data.group_column`, or `data.group_pattern` on the file names."""
    if cfg.group_column and cfg.group_pattern:
        raise ConfigError("Set one of `data.group_column` and `data.group_pattern`. Received: "
                          f"{cfg.group_column!r} and {cfg.group_pattern!r}")
    if cfg.group_pattern:
        return group_ids(files, cfg.group_pattern)
    if not cfg.group_column:
        return None
    column = table_column(header, cfg.group_column, "data.group_column", path)
    return np.asarray([row[column].strip() for row in rows])


def table_targets(rows: list[dict[str, str]], cfg: Any, header: list[str], path: Path
             ) -> tuple[np.ndarray, list[str] | None]:
    """Labels (int32) or multi-hot labels (float32, N x classes) with class names, or regression
    targets (float32, N x k) without."""
    if cfg.negative_label is not None and not cfg.label_separator:
        raise ConfigError("`data.negative_label` names the value of a multi-label column that "
                          "means no class; it needs `data.label_separator` (e.g. '|'). "
                          f"Received: negative_label={cfg.negative_label!r}")
    if cfg.label_columns:
        return _label_columns(rows, cfg, header, path)
    if cfg.target_columns:
        columns = [table_column(header, c, "data.target_columns", path) for c in cfg.target_columns]
        values = np.empty((len(rows), len(columns)), "float32")
        for i, row in enumerate(rows):
            for j, column in enumerate(columns):
                try:
                    values[i, j] = float(row[column])
                except (TypeError, ValueError):
                    raise DataError(f"{path} row {i + 2}: column {column!r} must be a number. "
                                    f"Received: {row[column]!r}") from None
        return values, None
    if not cfg.label_column:
        raise ConfigError("Set `data.label_column` (classification), `data.target_columns` "
                          "(regression) or `data.mask_column` (segmentation).")
    column = table_column(header, cfg.label_column, "data.label_column", path)
    raw = [row[column].strip() for row in rows]
    if cfg.label_separator:
        return _separated_labels(raw, cfg, path)
    names = list(cfg.classes) if cfg.classes else sorted(set(raw), key=_natural)
    index = {name: i for i, name in enumerate(names)}
    labels = np.empty(len(rows), "int32")
    for i, value in enumerate(raw):
        if value not in index:
            raise DataError(f"{path} row {i + 2}: label {value!r} is not one of the classes in "
                            f"`data.classes` ({', '.join(names)}).")
        labels[i] = index[value]
    return labels, names


def _separated_labels(raw: list[str], cfg: Any, path: Path) -> tuple[np.ndarray, list[str]]:
    """Multi-hot rows from `A|B` cells (`data.label_separator`); `data.negative_label` (or an
    empty cell) is a row of zeros, not a class."""
    found = [[part.strip() for part in value.split(cfg.label_separator) if part.strip()]
             for value in raw]
    negative = cfg.negative_label
    found = [[] if parts == [negative] else parts for parts in found]
    present = {part for parts in found for part in parts}
    if negative in present:
        row = next(i for i, parts in enumerate(found) if negative in parts)
        raise DataError(f"{path} row {row + 2}: {negative!r} (`data.negative_label`) is listed "
                        f"with other labels: {raw[row]!r}. Expected it alone.")
    names = list(cfg.classes) if cfg.classes else sorted(present, key=_natural)
    index = {name: i for i, name in enumerate(names)}
    labels = np.zeros((len(raw), len(names)), "float32")
    for i, parts in enumerate(found):
        for part in parts:
            if part not in index:
                raise DataError(f"{path} row {i + 2}: label {part!r} is not one of the classes "
                                f"in `data.classes` ({', '.join(names)}).")
            labels[i, index[part]] = 1.0
    return labels, names


def _label_columns(rows: list[dict[str, str]], cfg: Any, header: list[str], path: Path
                   ) -> tuple[np.ndarray, list[str]]:
    """Multi-hot rows from one 0/1 column per class (`data.label_columns`), named after them."""
    columns = [table_column(header, c, "data.label_columns", path) for c in cfg.label_columns]
    labels = np.zeros((len(rows), len(columns)), "float32")
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            value = row[column].strip()
            if value not in ("0", "1", "0.0", "1.0"):
                raise DataError(f"{path} row {i + 2}: column {column!r} must be 0 or 1. "
                                f"Received: {value!r}")
            labels[i, j] = float(value)
    return labels, columns


def _natural(name: str) -> tuple:
    """Sort "2" before "10" when labels are numbers."""
    return (0, int(name), "") if name.lstrip("-").isdigit() else (1, 0, name)


def table_path(cfg: CsvSchema) -> Path:
    if not cfg.path:
        raise ConfigError("`data.path` is required: the CSV file listing the images.")
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise DataError(f"`data.path` is not a file. Received: {str(path)!r}")
    return path


def check_csv(data_cfg: Any, config: Any = None) -> None:
    """Files present (no decoding, no TensorFlow): run by the validation pass."""
    check_split_keys(data_cfg)
    check_held_out(data_cfg)
    table_path(typed_data_config(CsvSchema, data_cfg))


@SOURCES.register("csv", schema=CsvSchema, check=check_csv)
def load_csv_source(data_cfg: Any) -> SourceData:
    cfg = typed_data_config(CsvSchema, data_cfg)
    path = table_path(cfg)
    header, rows = read_table(path)
    base = path.parent
    files = [base / row[table_column(header, cfg.path_column, "data.path_column", path)].strip()
             for row in rows]
    segmentation = cfg.mask_column is not None
    if segmentation:
        column = table_column(header, str(cfg.mask_column), "data.mask_column", path)
        targets: Any = np.asarray([str(base / row[column].strip()) for row in rows])
        class_names = None
    else:
        targets, class_names = table_targets(rows, cfg, header, path)
    group_of = table_groups(rows, cfg, header, path, files)
    given: dict[str, tuple[list[Path], Any]] = {}
    groups: dict[str, Any] = {}
    if cfg.split_column in header:
        split_of = np.asarray([row[cfg.split_column].strip() for row in rows])
        unknown = sorted(set(split_of) - set(SPLIT_NAMES))
        if unknown:
            raise DataError(f"{path}: column {cfg.split_column!r} holds {unknown[0]!r}. Expected "
                            f"one of: {', '.join(SPLIT_NAMES)}")
        for name in SPLIT_NAMES:
            rows_in = np.flatnonzero(split_of == name)
            if rows_in.size:
                given[name] = ([files[i] for i in rows_in], targets[rows_in])
                groups[name] = group_of[rows_in] if group_of is not None else None
    else:
        given["train"], groups["train"] = (files, targets), group_of
    given, held_groups = hold_out(given, {"test": cfg.test_files, "val": cfg.val_files}, base,
                                  groups if group_of is not None else None)
    carved = assemble_splits(given, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                             max_samples=cfg.max_samples, folds=cfg.folds, fold=cfg.fold,
                             groups=held_groups)
    listed = list_file_splits(carved, cfg.image_size, cfg.on_bad_file, cfg.channels,
                              masks=segmentation, workers=cfg.workers, window=cfg.window)
    return file_source(listed, carved, class_names, cfg.classes, f"CSV table {path}",
                       extra=[path])
