"""Data sources, registered by the name used in `data.source`.

A source turns its `data` config into a `SourceData`: raw examples per split (NumPy arrays or a
tf.data.Dataset of `(x, y)` pairs, channels last) plus what is needed to interpret them (class
names, the value range of the raw pixels). Preprocessing and batching live in `data/pipeline.py`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cnnkit.registry import Registry


@dataclass
class SourceData:
    """What a source hands to the pipeline."""

    splits: dict[str, Any]  # split name -> (x, y) NumPy arrays or tf.data.Dataset of (x, y)
    class_names: list[str] | None = None
    value_max: float = 1.0  # raw value that maps to 1.0 (16 for digits, 255 for 8-bit images)
    meta: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> Any:
        from cnnkit.errors import DataError

        if name not in self.splits:
            raise DataError(
                f"`data.split` names a split this data does not have. Received: {name!r}. "
                f"Expected one of: {', '.join(self.splits)}"
            )
        return self.splits[name]


SOURCES: Registry[Callable[[Any], SourceData]] = Registry("data source", "data.source")

# Modules that register sources; imported on first use so `cnnkit --help` stays fast.
SOURCE_MODULES = ["digits", "shapes", "synthetic"]


def load_source(data_cfg: Any) -> SourceData:
    """Load the raw splits of the source named by `data.source`."""
    for module in SOURCE_MODULES:
        importlib.import_module(f"cnnkit.data.sources.{module}")
    return SOURCES.get(str(data_cfg.source))(data_cfg)
