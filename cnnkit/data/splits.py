"""Splits: use the train/val/test a dataset ships with, carving the missing ones out of train.

Carving is seeded and, for integer class labels, stratified so every split keeps the class
balance. With groups (one patient's images, say: `data.group_column`, `data.group_pattern`)
every group lands on one side of each carved split. With `data.folds=K data.fold=k` the
validation split is fold k of a K-fold partition of the training data (test still carved first
or given); a val split the data give is pooled into the folds. One helper serves every source;
scikit-learn's splitters do the work.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError, DataError

SPLIT_NAMES = ("train", "val", "test")

log = logging.getLogger("cnnkit.data")


def _class_labels(y: Any, stratify: bool) -> np.ndarray | None:
    """`y` when it holds integer class labels to stratify on, else None."""
    labels = np.asarray(y)
    return labels if stratify and labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer) \
        else None


def _carve(y: Any, groups: np.ndarray | None, fraction: float, seed: int,
           stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    """(rest, part) indices with `fraction` of the examples (of the groups, when grouped) in
    the part; grouped carving keeps each group whole and is not stratified."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    n = len(y)
    try:
        if groups is not None:
            splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
            rest, part = next(splitter.split(np.zeros(n), groups=groups))
            return np.sort(rest), np.sort(part)
        labels = _class_labels(y, stratify)
        if labels is not None:
            counts = np.unique(labels, return_counts=True)[1]
            n_part = int(np.ceil(fraction * n))
            if counts.min() < 2 or n_part < len(counts) or n - n_part < len(counts):
                log.warning("Too few examples per class to stratify a %.0f%% split of %d; "
                            "splitting at random.", 100 * fraction, n)
                labels = None
        rest, part = train_test_split(np.arange(n), test_size=fraction, random_state=seed,
                                      stratify=labels)
        return rest, part
    except ValueError as exc:  # e.g. a fraction that leaves a split empty
        what = "groups" if groups is not None else "examples"
        count = len(np.unique(groups)) if groups is not None else n
        raise DataError(f"Cannot carve a {fraction:.0%} split out of {count} {what}: {exc}") \
            from exc


def check_folds(folds: int | None, fold: int | None) -> None:
    """`data.fold` names one of the `data.folds` folds (run by the validation pass too)."""
    if fold is None and folds is None:
        return
    if folds is None:
        raise ConfigError(f"`data.fold` needs `data.folds`, the number of folds. Received: "
                          f"data.fold={fold} with data.folds=null. Expected e.g. data.folds=5")
    if fold is None:
        raise ConfigError(f"`data.folds={folds}` needs `data.fold`, the fold to validate on. "
                          f"Expected 0..{folds - 1}, or a sweep: -m data.fold="
                          f"{','.join(map(str, range(folds)))}")
    if not 0 <= fold < folds:
        raise ConfigError(f"`data.fold` must be in 0..{folds - 1} (data.folds={folds}). "
                          f"Received: {fold}")


def fold_split(y: Any, groups: np.ndarray | None, folds: int, fold: int, seed: int,
               stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices of fold `fold` of a seeded `folds`-fold partition: stratified by
    integer class labels, grouped when `groups` is given."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    labels = _class_labels(y, stratify)
    if labels is not None and np.unique(labels, return_counts=True)[1].min() < folds:
        log.warning("A class has fewer than %d examples: the %d folds are not stratified.",
                    folds, folds)
        labels = None
    if groups is not None:
        splitter: Any = (StratifiedGroupKFold if labels is not None else GroupKFold)(
            n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = (StratifiedKFold if labels is not None else KFold)(
            n_splits=folds, shuffle=True, random_state=seed)
    n = len(y)
    what = f"{len(np.unique(groups))} groups" if groups is not None else f"{n} examples"
    try:
        parts = list(splitter.split(np.zeros(n), labels, groups))
    except ValueError as exc:  # more folds than examples or groups
        raise DataError(f"Cannot make {folds} folds (`data.folds`) of {what}: {exc}") from exc
    train, val = parts[fold]
    return np.sort(train), np.sort(val)


def group_ids(paths: list[Any], pattern: str) -> np.ndarray:
    """The group of each file from its name (`data.group_pattern`): the regex's first group,
    or its whole match when it has none."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"`data.group_pattern` is not a regular expression ({exc}). "
                          f"Received: {pattern!r}") from None
    ids = []
    for path in paths:
        found = regex.search(Path(path).name)
        if found is None:
            raise DataError(f"`data.group_pattern` {pattern!r} does not match the file name "
                            f"{Path(path).name!r} ({path}). Expected every file name to hold "
                            "its group, e.g. '^(P\\d+)_' for P012_slice3.png")
        ids.append(found.group(1) if regex.groups else found.group(0))
    return np.asarray(ids)


def pattern_groups(given: dict[str, tuple[Any, Any]], pattern: str | None
                   ) -> dict[str, np.ndarray] | None:
    """The group of every file of each given split from `data.group_pattern`; None: unset."""
    return {name: group_ids(list(x), pattern) for name, (x, _) in given.items()} \
        if pattern else None


def _take(x: Any, index: np.ndarray) -> Any:
    return x[index] if isinstance(x, np.ndarray) else [x[i] for i in index]


def _pool(parts: list[tuple[Any, Any]]) -> tuple[Any, np.ndarray]:
    """Several (x, y) as one: arrays concatenated, lists joined."""
    xs, ys = zip(*parts, strict=True)
    x = np.concatenate(xs) if all(isinstance(v, np.ndarray) for v in xs) else \
        [item for v in xs for item in v]
    return x, np.concatenate([np.asarray(v) for v in ys])


def _warn_shared_groups(groups: dict[str, np.ndarray]) -> None:
    """The data's own splits may put one group on two sides: say so (they are kept)."""
    names = list(groups)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            shared = np.intersect1d(groups[first], groups[second])
            if shared.size:
                log.warning("%d groups (e.g. %r) are in both the given %s and %s splits; "
                            "given splits are kept as they are.", shared.size, str(shared[0]),
                            first, second)


def carve_splits(
    x: Any,
    y: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: bool = True,
    **options: Any,
) -> dict[str, tuple[Any, np.ndarray]]:
    """Split (x, y) into train/val/test; a fraction of 0 leaves that split out. `options`:
    those of `assemble_splits` (folds, fold, groups as an array)."""
    groups = options.pop("groups", None)
    return assemble_splits({"train": (x, y)}, val_fraction, test_fraction, seed, stratify,
                           groups=None if groups is None else {"train": groups}, **options)


def assemble_splits(
    given: dict[str, tuple[Any, np.ndarray]],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: bool = True,
    max_samples: int | None = None,
    groups: dict[str, np.ndarray] | None = None,
    folds: int | None = None,
    fold: int | None = None,
) -> dict[str, tuple[Any, np.ndarray]]:
    """The given splits, with val/test carved from train by fraction where not given (or val as
    fold `fold` of `folds`), and at most `max_samples` examples in all (see `limit_splits`).

    `x` may be an array or a list (of file paths, say), so sources can split before decoding.
    `groups`: split name -> group id per example; carved splits keep each group whole."""
    for key, value in (("data.val_fraction", val_fraction), ("data.test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ConfigError(f"`{key}` must be in [0, 1). Received: {value!r}")
    check_folds(folds, fold)
    if "train" not in given:
        raise DataError(f"The data has no training split. Found: {', '.join(given) or 'none'}")
    test = test_fraction if "test" not in given else 0.0
    val = val_fraction if "val" not in given and folds is None else 0.0
    if val + test >= 1:
        raise ConfigError(
            "`data.val_fraction` + `data.test_fraction` must leave training data. "
            f"Received: {val_fraction} + {test_fraction}"
        )
    if groups is not None:
        _warn_shared_groups(groups)
    splits = dict(given)
    rest_x, rest_y = given["train"]
    rest_g = groups["train"] if groups is not None else None

    def cut(fraction: float) -> tuple[Any, np.ndarray]:
        nonlocal rest_x, rest_y, rest_g
        keep, part = _carve(rest_y, rest_g, fraction, seed, stratify)
        carved = (_take(rest_x, part), np.asarray(rest_y)[part])
        rest_x, rest_y = _take(rest_x, keep), np.asarray(rest_y)[keep]
        rest_g = rest_g[keep] if rest_g is not None else None
        return carved

    if test > 0:
        splits["test"] = cut(test)
    if folds is not None:
        if "val" in given:
            log.info("data.folds: the given val split is pooled with train into the folds.")
            rest_x, rest_y = _pool([(rest_x, rest_y), given["val"]])
            rest_g = np.concatenate([rest_g, groups["val"]]) if groups is not None else None
        keep, part = fold_split(rest_y, rest_g, folds, int(fold), seed, stratify)
        splits["val"] = (_take(rest_x, part), rest_y[part])
        rest_x, rest_y = _take(rest_x, keep), rest_y[keep]
    elif val > 0:
        splits["val"] = cut(val / (1 - test))
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
    return _take(x, index), labels[index]
