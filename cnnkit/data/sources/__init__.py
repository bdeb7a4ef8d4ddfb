"""Data sources, registered by the name used in `data.source`.

A source turns its `data` config into a `SourceData`: raw examples per split (NumPy arrays or a
tf.data.Dataset of `(x, y)` pairs, channels last) plus what is needed to interpret them (class
names, the value range of the raw pixels). Preprocessing and batching live in `data/pipeline.py`.
Each source checks its keys with its own schema (`typed_data_config`), so a typo such as
`data.pth` is reported by name before anything is read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cnnkit.registry import Registry


@dataclass
class SourceData:
    """What a source hands to the pipeline."""

    splits: dict[str, Any]  # split name -> (x, y) NumPy arrays or tf.data.Dataset of (x, y)
    class_names: list[str] | None = None
    value_max: float = 1.0  # raw value that maps to 1.0 (16 for digits, 255 for 8-bit images)
    # Per-source extras: "description"; "skipped" (unreadable files left out); for nifti,
    # "volumes": split -> [{path, affine, spacing, shape}] to write predictions back.
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
    """Keys every file-based source shares (see conf/data/*.yaml for their meaning)."""

    source: str = ""
    split: str = "test"
    batch_size: int = 32
    normalize: str = "standardize"
    cache: bool = True
    shuffle_buffer: int = 2048
    seed: int = 42
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    image_size: int | None = None
    on_bad_file: str = "error"
    workers: int = 0  # decoding threads; 0: one per core + 4


SOURCES: Registry[Callable[[Any], SourceData]] = Registry("data source", "data.source")

# Modules that register sources; imported on first use so `cnnkit --help` stays fast.
SOURCE_MODULES = [
    "digits", "shapes", "synthetic", "folder", "csv_files", "numpy_arrays", "tfds_datasets",
    "keras_datasets", "nifti",
]

# Source name -> a check that needs no TensorFlow (files present, keys valid): run first, so a
# missing dataset fails in a second rather than after TensorFlow has loaded.
SOURCE_CHECKS: dict[str, Callable[[Any], None]] = {}

S = TypeVar("S")


def preflight(name: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Decorator registering the fast check of source `name`."""

    def add(check: Callable[[Any], None]) -> Callable[[Any], None]:
        SOURCE_CHECKS[name] = check
        return check

    return add


def _import_sources() -> None:
    for module in SOURCE_MODULES:
        importlib.import_module(f"cnnkit.data.sources.{module}")


def check_source(data_cfg: Any) -> None:
    """Fail fast, before TensorFlow is imported, when the configured data cannot be found.

    Commands call this first; `load_source` calls it too.
    """
    _import_sources()
    name = str(data_cfg.source)
    SOURCES.get(name)  # an unknown source name is reported here, with suggestions
    if name in SOURCE_CHECKS:
        SOURCE_CHECKS[name](data_cfg)


def typed_data_config(schema: type[S], data_cfg: Any) -> S:
    """`data_cfg` merged over `schema`: unknown keys and wrong types are errors naming `data.KEY`."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from cnnkit.errors import ConfigError

    try:
        values = OmegaConf.to_container(data_cfg, resolve=True) if OmegaConf.is_config(
            data_cfg) else dict(data_cfg)
        typed = OmegaConf.merge(OmegaConf.structured(schema), values)
        return OmegaConf.to_object(typed)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or getattr(exc, "key", None) or ""
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"`data.{key}`: {msg}" if key else f"`data`: {msg}") from exc


def load_source(data_cfg: Any) -> SourceData:
    """Load the raw splits of the source named by `data.source`."""
    check_source(data_cfg)
    return SOURCES.get(str(data_cfg.source))(data_cfg)
