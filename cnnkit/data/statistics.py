"""What the data are, per split: example count, shapes, raw value range, and counts per class
(labels) or per mask value, as `cnnkit data` prints them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnkit.data.build import PreparedData
from cnnkit.data.pipeline import (
    as_dataset,
    random_access,
    sample_dataset,
    split_length,
    split_targets,
)

STATS_BATCH = 1024
#: splits of files: the value range (and mask classes) come from this many files at most
SAMPLED_FILES = 2048


def data_statistics(data: PreparedData) -> dict[str, dict[str, Any]]:
    """`split_stats` of every split of the source, by split name."""
    return {split: split_stats(data.source.split(split), data.target_kind)
            for split in data.source.splits}


def split_stats(split: Any, kind: Any) -> dict[str, Any]:
    """Count, shapes, raw value range and class counts of one split (arrays, files or a tf.data
    set). A split of files gives its value range (and mask classes) from a sample of files,
    its class counts from the labels, and says how many files it decoded (`sampled`)."""
    ds = sample_dataset(split, SAMPLED_FILES, 0) if random_access(split) else as_dataset(split)
    x_spec, y_spec = ds.element_spec
    stats: dict[str, Any] = {
        "count": 0, "x_shape": x_spec.shape.as_list(), "x_dtype": x_spec.dtype.name,
        "y_shape": _spec_shapes(y_spec), "min": math.inf, "max": -math.inf, "classes": {},
    }
    counts: dict[int, int] = {}
    for x, y in ds.batch(STATS_BATCH):
        x = x.numpy()
        stats["count"] += len(x)
        stats["min"] = min(stats["min"], float(x.min()))
        stats["max"] = max(stats["max"], float(x.max()))
        if kind in ("label", "mask") and not isinstance(y, dict):
            values, found = np.unique(np.asarray(y).astype("int64"), return_counts=True)
            for value, n in zip(values.tolist(), found.tolist(), strict=True):
                counts[value] = counts.get(value, 0) + n
    total = split_length(split)
    if random_access(split) and total > stats["count"]:
        stats["sampled"], stats["count"] = stats["count"], total
        if kind == "label":
            values, found = np.unique(np.asarray(split_targets(split)).astype("int64"),
                                      return_counts=True)
            counts = dict(zip(values.tolist(), found.tolist(), strict=True))
    stats["classes"] = dict(sorted(counts.items()))
    return stats


def _spec_shapes(spec: Any) -> Any:
    if isinstance(spec, dict):
        return {k: v.shape.as_list() for k, v in spec.items()}
    return spec.shape.as_list()
