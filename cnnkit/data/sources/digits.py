"""The 8x8 handwritten digits that ship inside scikit-learn: real data with no download."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.config.check import setting
from cnnkit.data.sources import SOURCES, SourceData, SplitSchema, check_split_keys
from cnnkit.data.splits import carve_splits

DIGITS_VALUE_MAX = 16.0


@dataclass
class DigitsSchema(SplitSchema):
    image_size: int | None = setting(8, min=1)  # resize the 8x8 digits to image_size x image_size


@SOURCES.register("digits", schema=DigitsSchema, check=check_split_keys)
def load_digits_source(cfg: Any) -> SourceData:
    """1797 gray 8x8 digits (values 0-16), split train/val/test with `data.seed`."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype("float32")[..., np.newaxis]
    y = bunch.target.astype("int32")
    splits = carve_splits(x, y, float(cfg.val_fraction), float(cfg.test_fraction), int(cfg.seed),
                          folds=cfg.get("folds"), fold=cfg.get("fold"))
    return SourceData(
        splits=splits,
        class_names=[str(c) for c in bunch.target_names],
        value_max=DIGITS_VALUE_MAX,
        meta={"description": "scikit-learn 8x8 digits"},
    )
