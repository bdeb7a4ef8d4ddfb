"""The 8x8 handwritten digits that ship inside scikit-learn: real data with no download."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.data.sources import SOURCES, SourceData
from cnnkit.data.splits import carve_splits

DIGITS_VALUE_MAX = 16.0


@SOURCES.register("digits")
def load_digits_source(cfg: Any) -> SourceData:
    """1797 gray 8x8 digits (values 0-16), split train/val/test with `data.seed`."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype("float32")[..., np.newaxis]
    y = bunch.target.astype("int32")
    limit = cfg.get("max_samples")
    if limit and int(limit) < len(y):
        from sklearn.model_selection import train_test_split

        x, _, y, _ = train_test_split(
            x, y, train_size=int(limit), random_state=int(cfg.seed), stratify=y
        )
    splits = carve_splits(x, y, float(cfg.val_fraction), float(cfg.test_fraction), int(cfg.seed))
    return SourceData(
        splits=splits,
        class_names=[str(c) for c in bunch.target_names],
        value_max=DIGITS_VALUE_MAX,
        meta={"description": "scikit-learn 8x8 digits"},
    )
