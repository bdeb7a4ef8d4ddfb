"""Data sources, registered by the name used in `data.source`.

A source turns its `data` config into a `SourceData`: raw examples per split (NumPy arrays or a
tf.data.Dataset of `(x, y)` pairs, channels last) plus what is needed to interpret them (class
names, the value range of the raw pixels). Preprocessing and batching live in `data/pipeline.py`.
Each source registers with its schema, so a typo such as `data.pth` is reported by name before
anything is read (`cnnkit.config.validate`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from cnnkit.config.check import check_group, schema_keys, setting
from cnnkit.config.plain import to_plain
from cnnkit.data.splits import check_folds, limit_splits
from cnnkit.errors import ConfigError
from cnnkit.registry import Registry


@dataclass
class SourceData:
    """What a source hands to the pipeline."""

    splits: dict[str, Any]  # split name -> (x, y) NumPy arrays or tf.data.Dataset of (x, y)
    class_names: list[str] | None = None
    value_max: float = 1.0  # raw value that maps to 1.0 (16 for digits, 255 for 8-bit images)
    # Per-source extras: "description"; "skipped" (unreadable files left out); for nifti,
    # "volumes": split -> [{path, affine, spacing, shape}] to write predictions back; for file
    # sources, "read_files": every file read (data/fingerprint.py); for tfds, "tfds": what
    # names the prepared dataset (name, version, splits, data_dir).
    meta: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> Any:
        from cnnkit.errors import DataError

        if name not in self.splits:
            raise DataError(
                f"`data.split` names a split this data does not have. Received: {name!r}. "
                f"Expected one of: {', '.join(self.splits)}"
            )
        return self.splits[name]


@dataclass
class CommonDataSchema:
    """Keys every source has (see conf/data/*.yaml for their meaning)."""

    source: str = ""
    split: str = "test"  # the split `cnnkit evaluate` uses
    batch_size: int = setting(32, min=1)
    normalize: Literal["standardize", "rescale", "none"] = "standardize"
    # auto | memory | disk | none (true/false: memory/none); see data/caching.py
    cache: Literal["auto", "memory", "disk", "none"] | bool = "auto"
    cache_budget_gb: float | None = setting(None, min=0)  # null: half the available memory
    cache_dir: str | None = None  # null: $CNNKIT_CACHE_DIR or ~/.cache/cnnkit/data
    stats_samples: int = setting(4096, min=1)  # mean/std from at most this many train examples
    shuffle_buffer: int = setting(2048, min=0)  # streams read in order only (tfds)
    seed: int = 42
    val_fraction: float = setting(0.15, min=0, lt=1)
    test_fraction: float = setting(0.15, min=0, lt=1)
    image_size: int | None = setting(None, min=1)
    # Large images (data/patches.py): train on random patches of this spatial size ([H, W] or
    # [D, H, W]) cut at the images' own size (with `image_size` too: resized first, then cut);
    # null: whole images. Validation/test: tiles covering each image (`val_whole`) or random
    # patches from a fixed seed. The model input follows the patch; predict runs a sliding window
    patch_size: list[int] | None = setting(None, min_items=1)
    patches_per_image: int = setting(4, min=1)  # random patches per image and epoch
    patch_sampling: Literal["uniform", "balanced"] = "uniform"  # balanced: see foreground_fraction
    foreground_fraction: float = setting(0.5, min=0, max=1)  # balanced: patches centred on a
    # random foreground voxel of the mask (nnU-Net, MONAI RandCropByPosNegLabel); others uniform
    val_whole: bool = True  # val/test tiles cover every pixel; false: patches_per_image random
    max_samples: int | None = setting(None, min=1)  # at most this many examples in all

    @staticmethod
    def provides(values: dict[str, Any]) -> tuple[Any, str] | None:
        """What the configured data give as targets — a kind (label | mask | boxes | values |
        image | density) or a dict output -> kind — and the key that decides it; None: unknown
        until the data are read. The validation pass matches it against the task."""
        return "label", f"data.source={values.get('source')}"

    @staticmethod
    def rank(values: dict[str, Any]) -> int | None:
        """Spatial rank of the examples (1 signals, 2 images, 3 volumes); None: unknown."""
        return 2

    @staticmethod
    def multilabel(values: dict[str, Any]) -> str | None:
        """The key that makes the class targets multi-hot (several labels per example), so
        `task.mode=auto` means multilabel; None: single labels, or unknown until read."""
        return None

    @staticmethod
    def target_names(values: dict[str, Any]) -> list[str] | None:
        """Names of the regression targets (`data.target_columns`), which name the task's
        outputs; None: unnamed."""
        return None


@dataclass
class SplitSchema(CommonDataSchema):
    """Keys of the sources whose val/test are carved by `data/splits.py`: k-fold as well."""

    folds: int | None = setting(None, min=2)  # K: cross-validation, val is fold `fold` of K
    fold: int | None = setting(None, min=0)  # 0..K-1; sweep it: -m data.fold=0,1,2,3,4


@dataclass
class FileSourceSchema(SplitSchema):
    """Keys of the sources that decode files."""

    group_pattern: str | None = None  # regex on file names; its first group names the group
    on_bad_file: Literal["error", "skip"] = "error"
    workers: int = setting(0, min=0)  # decoding threads; 0: one per core + 4
    # [center, width]: values mapped to the input range (DICOM images; volumes: any format);
    # null: a DICOM image's own window, volumes' raw values (data/medical.py)
    window: list[float] | None = None


@dataclass
class HeldOutSchema(FileSourceSchema):
    """Keys of the file sources that keep named files out of training (data/held_out.py)."""

    test_files: list[str] | None = None  # stems or globs: the test split, instead of test_fraction
    val_files: list[str] | None = None  # stems or globs: the val split, instead of val_fraction


def check_split_keys(data_cfg: Any, config: Any = None) -> None:
    """`data.fold` and `data.folds` agree, and `data.window` (file sources) is a [center,
    width]: the validation pass's check of SplitSchema sources."""
    check_folds(data_cfg.get("folds"), data_cfg.get("fold"))
    window = data_cfg.get("window")
    if window is not None and (len(window) != 2 or float(window[1]) <= 0):
        raise ConfigError("`data.window` must be [center, width] with a positive width. "
                          f"Received: {list(window)!r}")


#: A source is `load(data_cfg) -> SourceData`; its entry's schema subclasses CommonDataSchema
#: and its check (files present, cheap, no TensorFlow) runs in the validation pass, so a missing
#: dataset fails in a second rather than after TensorFlow has loaded.
SOURCES: Registry[Callable[[Any], SourceData]] = Registry("data source", "data.source")

# Modules that register sources; imported on first use so `cnnkit --help` stays fast.
SOURCE_MODULES = [
    "digits", "shapes", "synthetic", "folder", "csv_files", "numpy_arrays", "tfds_datasets",
    "keras_datasets", "nifti", "records",
]

S = TypeVar("S")


def load_source_modules() -> None:
    """Import every source module: registers the sources with their schemas."""
    for module in SOURCE_MODULES:
        importlib.import_module(f"cnnkit.data.sources.{module}")


def check_source(data_cfg: Any) -> None:
    """The data group checked as the validation pass checks it: schema, then the source's check."""
    load_source_modules()
    values = to_plain(data_cfg)
    entry = SOURCES.entry(str(values.get("source")))
    checked = check_group(values, entry.schema, "data") if entry.schema else values
    if entry.check is not None:
        entry.check(checked, {"data": checked})


def _schema_of(data_cfg: Any) -> tuple[Any, dict[str, Any]] | None:
    """The configured source's schema with the plain values, or None (no such source)."""
    load_source_modules()
    values = to_plain(data_cfg)
    name = str(values.get("source"))
    schema = SOURCES.entry(name).schema if name in SOURCES else None
    return (schema, values) if schema is not None else None


def data_provides(data_cfg: Any) -> tuple[Any, str] | None:
    """`CommonDataSchema.provides` of the configured source: its target kind and the key that
    decides it, or None."""
    found = _schema_of(data_cfg)
    return found[0].provides(found[1]) if found else None


def multilabel_data(data_cfg: Any) -> str | None:
    """`CommonDataSchema.multilabel` of the configured source: the key that makes its labels
    multi-hot, or None."""
    found = _schema_of(data_cfg)
    return found[0].multilabel(found[1]) if found else None


def data_target_names(data_cfg: Any) -> list[str] | None:
    """`CommonDataSchema.target_names` of the configured source, or None."""
    found = _schema_of(data_cfg)
    return found[0].target_names(found[1]) if found else None


def typed_data_config(schema: type[S], data_cfg: Any) -> S:
    """`data_cfg` as an instance of `schema` (keys the schema does not list are left out: the
    validation pass has refused unknown ones already)."""
    values = to_plain(data_cfg)
    keys = schema_keys(schema)
    return schema(**check_group({k: v for k, v in values.items() if k in keys}, schema, "data"))


def load_source(data_cfg: Any) -> SourceData:
    """Load the raw splits of the source named by `data.source` (at most `data.max_samples`)."""
    check_source(data_cfg)
    data = SOURCES.get(str(data_cfg.source))(data_cfg)
    limit = data_cfg.get("max_samples")
    if limit and all(isinstance(v, tuple) for v in data.splits.values()):
        data.splits = limit_splits(data.splits, int(limit), int(data_cfg.get("seed", 0)))
    elif limit:  # streams (tfds, records) are cut here; file splits by their source's listing
        data.splits = {name: split.take(int(limit)) if hasattr(split, "take") else split
                       for name, split in data.splits.items()}
    return data
