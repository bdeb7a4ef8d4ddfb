"""Parameter parsing for transforms: number ranges, amounts, choices and spatial axes.

Pure Python (no TensorFlow), so a config is checked when the augmentation is built; every error
names the full config key and, for choices, suggests the closest valid value.
"""

from __future__ import annotations

from typing import Any

from cnnkit.errors import ConfigError, DataError, did_you_mean

FILL_MODES = ("reflect", "constant", "nearest", "wrap")
INTERPOLATIONS = ("bilinear", "nearest")
RANK_NAMES = {1: "1D signals", 2: "2D images", 3: "3D volumes"}


def number_range(value: Any, key: str, centre: float = 0.0, low_bound: float | None = None) -> tuple[float, float]:
    """`r` -> (centre - r, centre + r); `[lo, hi]` -> (lo, hi); checked."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = centre - abs(float(value)), centre + abs(float(value))
    elif isinstance(value, list | tuple) and len(value) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        low, high = float(value[0]), float(value[1])
    else:
        raise ConfigError(f"`{key}` must be a number or a [low, high] pair. Received: {value!r}")
    if low > high or (low_bound is not None and low < low_bound):
        bound = f" and at least {low_bound}" if low_bound is not None else ""
        raise ConfigError(f"`{key}` must be a range with low <= high{bound}. Received: {value!r}")
    return low, high


def amount(value: Any, key: str) -> tuple[float, float]:
    """A fixed amount `v` -> (v, v); `[lo, hi]` -> drawn per example; never negative."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value, value]
    return number_range(value, key, low_bound=0.0)


def choice(value: Any, key: str, allowed: tuple[str, ...]) -> str:
    """`value` if it is one of `allowed`, else an error that suggests the closest one."""
    if value not in allowed:
        raise ConfigError(f"`{key}` must be one of {', '.join(allowed)}. Received: {value!r}"
                          f"{did_you_mean(str(value), allowed)}")
    return str(value)


def spatial_axes(axes: Any, rank: int, key: str) -> list[int]:
    """Spatial axis indices (negative ones count from the last spatial axis) -> 0..rank-1."""
    if axes is None:
        return list(range(rank))
    out = []
    for axis in axes:
        if not isinstance(axis, int) or not -rank <= axis < rank:
            raise DataError(f"`{key}` lists spatial axes of {RANK_NAMES[rank]} "
                            f"(0..{rank - 1} or negative). Received: {list(axes)!r}")
        out.append(axis % rank)
    return out
