"""Sampling a batch at new coordinates: per-axis index mapping, linear/nearest resampling,
affine warps (and the matrices they are built from), coordinate grids and spatial resizing.

Every warp maps output coordinates to input coordinates (input = matrix @ output + offset), so
consecutive warps compose into one map and are resampled once.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from cnnkit.lazy import lazy

tf = lazy("tensorflow")


def _map_index(index: Any, size: int, fill_mode: str) -> tuple[Any, Any]:
    """Integer indices along one axis -> in-range indices and whether each lay inside the input."""
    valid = (index >= 0) & (index < size)
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a, as keras and ImageProjectiveTransform
        folded = tf.math.floormod(index, 2 * size)
        index = tf.where(folded >= size, 2 * size - 1 - folded, folded)
    elif fill_mode == "wrap":
        index = tf.math.floormod(index, size)
    else:  # nearest, and constant (whose outside values are replaced afterwards)
        index = tf.clip_by_value(index, 0, size - 1)
    return index, valid


def resample(t: Any, coords: Any, interpolation: str, fill_mode: str, fill_value: float = 0.0) -> Any:
    """Sample a batch (B, *S, C) at input coordinates (B, *S', n): linear or nearest, any n.

    Nearest sampling keeps the dtype (integer masks stay integers); linear returns float32.
    Indices are mapped per axis and flattened into one `tf.gather` over (B * prod(S), C), which
    is much faster than gather_nd.
    """
    n = int(coords.shape[-1])
    size = [int(d) for d in t.shape[1 : 1 + n]]
    flat = tf.reshape(t, [-1, int(t.shape[-1])])
    if interpolation != "nearest":
        flat = tf.cast(flat, tf.float32)
    base = tf.reshape(tf.range(tf.shape(t)[0]) * math.prod(size), [-1] + [1] * (coords.shape.rank - 2))
    per_axis = []  # per axis: the (offset, weight, valid) of each neighbour along it
    for axis in range(n):
        c = coords[..., axis]
        if interpolation == "nearest":
            options = [(tf.cast(tf.round(c), tf.int32), None)]
        else:
            low = tf.floor(c)
            frac = c - low
            low = tf.cast(low, tf.int32)
            options = [(low, 1.0 - frac), (low + 1, frac)]
        stride = math.prod(size[axis + 1 :])
        mapped = []
        for index, weight in options:
            index, valid = _map_index(index, size[axis], fill_mode)
            mapped.append((index * stride, weight, valid))
        per_axis.append(mapped)
    out = None
    for corner in itertools.product(*per_axis):
        values = tf.gather(flat, base + sum(offset for offset, _, _ in corner))
        if fill_mode == "constant":
            valid = corner[0][2]
            for _, _, axis_valid in corner[1:]:
                valid = valid & axis_valid
            values = tf.where(valid[..., None], values, tf.cast(fill_value, values.dtype))
        if interpolation != "nearest":
            values = math.prod(weight for _, weight, _ in corner)[..., None] * values
        out = values if out is None else out + values
    return out


def coordinate_grid(shape: list[int]) -> Any:
    """Output coordinates (*shape, n) of every element, float32."""
    axes = [tf.range(d, dtype=tf.float32) for d in shape]
    return tf.stack(tf.meshgrid(*axes, indexing="ij"), axis=-1)


def _projective_2d(t: Any, matrix: Any, offset: Any, interpolation: str, fill_mode: str,
                   fill_value: float) -> Any:
    """2D affine warp with TF's ImageProjectiveTransformV3 (input = matrix @ output + offset)."""
    zeros = tf.zeros_like(offset[:, 0])
    # The op uses (x=column, y=row); our matrix acts on (row, column).
    transforms = tf.stack([matrix[:, 1, 1], matrix[:, 1, 0], offset[:, 1],
                           matrix[:, 0, 1], matrix[:, 0, 0], offset[:, 0], zeros, zeros], axis=1)
    dtype = t.dtype
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(t, tf.float32), transforms=tf.cast(transforms, tf.float32),
        output_shape=tf.constant([int(t.shape[1]), int(t.shape[2])], tf.int32), fill_value=tf.constant(fill_value, tf.float32),
        interpolation=interpolation.upper(), fill_mode=fill_mode.upper(),
    )
    out.set_shape(t.shape)
    return tf.cast(out, dtype) if interpolation == "nearest" else out


def warp_affine(t: Any, matrix: Any, offset: Any, interpolation: str, fill_mode: str,
                fill_value: float) -> Any:
    """Warp a batch (B, *S, C) by per-example affine maps: input = matrix @ output + offset."""
    n = t.shape.rank - 2
    if n == 2:
        return _projective_2d(t, matrix, offset, interpolation, fill_mode, fill_value)
    coords = tf.einsum("bij,...j->b...i", matrix, coordinate_grid([int(d) for d in t.shape[1:-1]]))
    coords += tf.reshape(offset, [-1] + [1] * n + [n])
    return resample(t, coords, interpolation, fill_mode, fill_value)


def about_centre(matrix: Any, shape: list[int]) -> Any:
    """The offset that makes `matrix` act about the centre of an array of `shape`."""
    centre = (tf.constant(shape, tf.float32) - 1.0) / 2.0
    return centre - tf.einsum("bij,j->bi", matrix, centre)


def eye_batch(n: int, batch: Any) -> Any:
    """(B, n, n) identity matrices: the warp that leaves every example as it is."""
    return tf.eye(n, batch_shape=[batch])


def plane_matrix(n: int, i: int, j: int, entries: dict[tuple[int, int], Any], batch: Any) -> Any:
    """(B, n, n) identity with the given (row, column) entries replaced by (B,) values."""
    rows = []
    for r in range(n):
        row = []
        for c in range(n):
            if (r, c) in entries:
                row.append(entries[(r, c)])
            else:
                row.append(tf.fill([batch], 1.0 if r == c else 0.0))
        rows.append(tf.stack(row, axis=-1))
    return tf.stack(rows, axis=-2)


def resize_spatial(t: Any, size: list[int], method: str, antialias: bool = False) -> Any:
    """Resize the spatial axes of a batch (B, *spatial, C) to `size` (1, 2 or 3 axes).

    tf.image.resize does 2D; 1D adds a unit axis and 3D resizes (H, W) then D, which is the
    separable (trilinear, tricubic or nearest) resize. Nearest keeps the dtype.
    """
    size = [int(s) for s in size]
    shape = [int(d) for d in t.shape[1:-1]]
    if shape == size:
        return t
    if len(size) == 1:
        return tf.image.resize(t[:, :, None], [size[0], 1], method, antialias=antialias)[:, :, 0]
    if len(size) == 2:
        return tf.image.resize(t, size, method, antialias=antialias)
    (d, h, w), channels = shape, int(t.shape[-1])
    t = tf.reshape(t, [-1, h, w, channels])
    t = tf.image.resize(t, size[1:], method, antialias=antialias)
    t = tf.transpose(tf.reshape(t, [-1, d, size[1], size[2], channels]), [0, 2, 1, 3, 4])
    t = tf.reshape(t, [-1, d, size[2], channels])
    t = tf.image.resize(t, [size[0], size[2]], method, antialias=antialias)
    t = tf.reshape(t, [-1, size[1], size[0], size[2], channels])
    return tf.transpose(t, [0, 2, 1, 3, 4])
