"""Carving validation and test splits out of one labelled set: stratified and seeded."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.errors import ConfigError


def carve_splits(
    x: np.ndarray,
    y: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Split (x, y) into train/val/test; a fraction of 0 leaves that split out."""
    from sklearn.model_selection import train_test_split

    for key, value in (("data.val_fraction", val_fraction), ("data.test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ConfigError(f"`{key}` must be in [0, 1). Received: {value!r}")
    if val_fraction + test_fraction >= 1:
        raise ConfigError(
            "`data.val_fraction` + `data.test_fraction` must leave training data. "
            f"Received: {val_fraction} + {test_fraction}"
        )
    labels: Any = y if stratify and y.ndim == 1 else None
    splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rest_x, rest_y = x, y
    if test_fraction > 0:
        rest_x, test_x, rest_y, test_y = train_test_split(
            x, y, test_size=test_fraction, random_state=seed, stratify=labels
        )
        splits["test"] = (test_x, test_y)
    if val_fraction > 0:
        rest_labels = rest_y if labels is not None else None
        train_x, val_x, train_y, val_y = train_test_split(
            rest_x, rest_y, test_size=val_fraction / (1 - test_fraction), random_state=seed,
            stratify=rest_labels,
        )
        splits["val"] = (val_x, val_y)
    else:
        train_x, train_y = rest_x, rest_y
    return {"train": (train_x, train_y), **splits}
