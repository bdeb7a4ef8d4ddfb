"""Seeded per-example randomness: every draw is a function of (seed, salt), never of state.

Transforms draw their parameters from a step seed with fixed salts, so a run is reproducible and
the streams stay the same when transforms are added elsewhere in the list.
"""

from __future__ import annotations

from typing import Any

from cnnkit.lazy import lazy

tf = lazy("tensorflow")


def fold_seed(seed: Any, salt: int) -> Any:
    """A new (2,) stateless seed derived from `seed` and `salt`."""
    return tf.random.experimental.stateless_fold_in(seed, salt)


def uniform(seed: Any, salt: int, shape: Any, low: Any = 0.0, high: Any = 1.0) -> Any:
    """Stateless uniform draws in [low, high) from the salted seed."""
    return tf.random.stateless_uniform(shape, fold_seed(seed, salt), low, high)


def beta(seed: Any, batch: Any, alpha: float) -> Any:
    """Beta(alpha, alpha) per example, from two stateless gamma draws."""
    a = tf.random.stateless_gamma([batch], fold_seed(seed, 101), alpha)
    b = tf.random.stateless_gamma([batch], fold_seed(seed, 102), alpha)
    return a / tf.maximum(a + b, 1e-12)


def per_example(values: Any, rank: int) -> Any:
    """Reshape a (B,) tensor so it broadcasts over (B, *spatial, C)."""
    return tf.reshape(values, [-1] + [1] * (rank + 1))


def box_region(seed: Any, batch: Any, shape: list[int], sides: Any) -> Any:
    """(B, *shape, 1) float mask of one random axis-aligned box per example, side fractions (B, n).

    Built as the product of one 1D inside-test per axis (a few hundred comparisons instead of
    one per pixel and axis)."""
    n = len(shape)
    size = tf.constant(shape, tf.float32)
    centre = uniform(seed, 7, [batch, n]) * size
    half = sides * size / 2.0
    region = None
    for axis, length in enumerate(shape):
        position = tf.range(length, dtype=tf.float32) + 0.5
        inside = tf.abs(position[None] - centre[:, axis, None]) < half[:, axis, None]  # (B, L)
        spread = [-1] + [length if a == axis else 1 for a in range(n)] + [1]
        inside = tf.reshape(tf.cast(inside, tf.float32), spread)
        region = inside if region is None else region * inside
    return region
