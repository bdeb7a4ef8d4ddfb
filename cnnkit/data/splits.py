"""Splits: use the train/val/test a dataset ships with, carving the missing ones out of train.

Carving is seeded and, for integer class labels, stratified so every split keeps the class
balance. One helper serves every source.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError, DataError

SPLIT_NAMES = ("train", "val", "test")

log = logging.getLogger("cnnkit.data")


def _split(x: Any, y: np.ndarray, fraction: float, seed: int, stratify: bool) -> tuple:
    """(rest_x, part_x, rest_y, part_y) with `fraction` of the examples in the part."""
    from sklearn.model_selection import train_test_split

    labels = y if stratify and y.ndim == 1 and np.issubdtype(y.dtype, np.integer) else None
    if labels is not None:
        counts = np.unique(labels, return_counts=True)[1]
        n_part = int(np.ceil(fraction * len(y)))
        if counts.min() < 2 or n_part < len(counts) or len(y) - n_part < len(counts):
            log.warning("Too few examples per class to stratify a %.0f%% split of %d; "
                        "splitting at random.", 100 * fraction, len(y))
            labels = None
    try:
        return train_test_split(x, y, test_size=fraction, random_state=seed, stratify=labels)
    except ValueError as exc:  # e.g. a fraction that leaves a split empty
        raise DataError(f"Cannot carve a {fraction:.0%} split out of {len(y)} examples: {exc}") from exc


def carve_splits(
    x: Any,
    y: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: bool = True,
) -> dict[str, tuple[Any, np.ndarray]]:
    """Split (x, y) into train/val/test; a fraction of 0 leaves that split out."""
    return assemble_splits({"train": (x, y)}, val_fraction, test_fraction, seed, stratify)


def assemble_splits(
    given: dict[str, tuple[Any, np.ndarray]],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: bool = True,
    max_samples: int | None = None,
) -> dict[str, tuple[Any, np.ndarray]]:
    """The given splits, with val/test carved from train by fraction where not given, and at most
    `max_samples` examples in all (see `limit_splits`).

    `x` may be an array or a list (of file paths, say), so sources can split before decoding.
    """
    for key, value in (("data.val_fraction", val_fraction), ("data.test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ConfigError(f"`{key}` must be in [0, 1). Received: {value!r}")
    if "train" not in given:
        raise DataError(f"The data has no training split. Found: {', '.join(given) or 'none'}")
    test = test_fraction if "test" not in given else 0.0
    val = val_fraction if "val" not in given else 0.0
    if val + test >= 1:
        raise ConfigError(
            "`data.val_fraction` + `data.test_fraction` must leave training data. "
            f"Received: {val_fraction} + {test_fraction}"
        )
    splits = dict(given)
    rest_x, rest_y = given["train"]
    if test > 0:
        rest_x, test_x, rest_y, test_y = _split(rest_x, rest_y, test, seed, stratify)
        splits["test"] = (test_x, test_y)
    if val > 0:
        rest_x, val_x, rest_y, val_y = _split(rest_x, rest_y, val / (1 - test), seed, stratify)
        splits["val"] = (val_x, val_y)
    splits["train"] = (rest_x, rest_y)
    ordered = {name: splits[name] for name in SPLIT_NAMES if name in splits}
    return limit_splits(ordered, max_samples, seed, stratify)


def split_counts(sizes: dict[str, int], max_samples: int | None) -> dict[str, int]:
    """How many examples each split keeps under `data.max_samples`: every split cut by the same
    fraction (largest remainders round up, each split keeps at least one)."""
    total = sum(sizes.values())
    if not max_samples or total <= max_samples:
        return dict(sizes)
    exact = {name: n * max_samples / total for name, n in sizes.items()}
    keep = {name: max(1, int(v)) if sizes[name] else 0 for name, v in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - int(exact[name]), reverse=True)
    for name in by_remainder[: max(0, max_samples - sum(keep.values()))]:
        keep[name] += 1
    return keep


def limit_splits(splits: dict[str, tuple[Any, Any]], max_samples: int | None, seed: int,
                 stratify: bool = True) -> dict[str, tuple[Any, Any]]:
    """At most `max_samples` examples in all (`data.max_samples`): every split is cut by the same
    fraction, stratified and seeded, so a large dataset can be tried on a subset. Sources cut
    file lists before decoding; a no-op when the data are small enough."""
    sizes = {name: len(y) for name, (_, y) in splits.items()}
    keep = split_counts(sizes, max_samples)
    return {name: (x, y) if keep[name] >= sizes[name] else _subset(x, y, keep[name], seed, stratify)
            for name, (x, y) in splits.items()}


def _subset(x: Any, y: Any, n: int, seed: int, stratify: bool) -> tuple[Any, Any]:
    """`n` examples of (x, y) in their original order: stratified by integer labels when every
    class can keep one, else at random (seeded)."""
    labels = np.asarray(y)
    classes, counts = (np.unique(labels, return_counts=True) if labels.ndim == 1
                       and np.issubdtype(labels.dtype, np.integer) else (None, None))
    if stratify and classes is not None and n >= len(classes) and counts.min() >= 2:
        from sklearn.model_selection import train_test_split

        index, _ = train_test_split(np.arange(len(labels)), train_size=n, random_state=seed,
                                    stratify=labels)
    else:
        index = np.random.default_rng(seed).permutation(len(labels))[:n]
    index = np.sort(index)
    picked = x[index] if isinstance(x, np.ndarray) else [x[i] for i in index]
    return picked, labels[index]
