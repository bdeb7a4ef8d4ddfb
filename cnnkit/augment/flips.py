"""Flips and quarter turns: geometric transforms that move whole pixels, so they are exact,
move normalised boxes too, and fuse with any neighbouring affine warp."""

from __future__ import annotations

from typing import Any

from cnnkit.augment.base import TRANSFORMS, GeometricTransform
from cnnkit.augment.params import spatial_axes
from cnnkit.augment.random import fold_seed, per_example
from cnnkit.augment.sampling import about_centre, plane_matrix
from cnnkit.errors import ConfigError
from cnnkit.lazy import lazy

tf = lazy("tensorflow")


def _box_coords(boxes: Any) -> list[Any]:
    """Normalised boxes (..., 4) as float32 x1, y1, x2, y2."""
    return tf.unstack(tf.cast(boxes, tf.float32), axis=-1)


def _box_flag(flag: Any, boxes: Any) -> Any:
    """(B,) flags broadcast over boxes (B, 4) or (B, N, 4) without the last axis."""
    return tf.reshape(flag, [-1] + [1] * (boxes.shape.rank - 2))


@TRANSFORMS.register("flip")
class Flip(GeometricTransform):
    """Mirror along each listed spatial axis, each independently with probability p."""

    moves_boxes = True
    fusable = True
    defaults: dict[str, Any] = {"axes": None}
    fixed_axes: list[int] | None = None

    def axes(self, rank: int) -> list[int]:
        axes = self.fixed_axes if self.fixed_axes is not None else self.params["axes"]
        return spatial_axes(axes, rank, self.param_key("axes"))

    def sample(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        flags = {axis: self.active(seed, batch, salt=axis) for axis in self.axes(len(shape))}
        return flags, tf.reduce_any(tf.stack(list(flags.values()), axis=0), axis=0)

    def warp(self, t: Any, params: Any, interpolation: str) -> Any:
        rank = t.shape.rank - 2
        for axis, flag in params.items():
            t = tf.where(per_example(flag, rank), tf.reverse(t, [axis + 1]), t)
        return t

    def affine(self, params: Any, active: Any, shape: list[int]) -> tuple[Any, Any]:
        flipped = [params.get(axis, tf.zeros_like(active)) for axis in range(len(shape))]
        flipped = tf.stack(flipped, axis=-1)  # (B, n)
        matrix = tf.linalg.diag(tf.where(flipped, -1.0, 1.0))
        offset = tf.where(flipped, tf.constant(shape, tf.float32) - 1.0, 0.0)
        return matrix, offset

    def move_boxes(self, boxes: Any, params: Any) -> Any:
        x1, y1, x2, y2 = _box_coords(boxes)
        for axis, flag in params.items():  # 2D: axis 1 is x (width), axis 0 is y (height)
            f = _box_flag(flag, boxes)
            if axis == 1:
                x1, x2 = tf.where(f, 1.0 - x2, x1), tf.where(f, 1.0 - x1, x2)
            else:
                y1, y2 = tf.where(f, 1.0 - y2, y1), tf.where(f, 1.0 - y1, y2)
        return tf.stack([x1, y1, x2, y2], axis=-1)


@TRANSFORMS.register("horizontal_flip")
class HorizontalFlip(Flip):
    """Mirror left-right (the last spatial axis)."""

    defaults: dict[str, Any] = {}
    fixed_axes = [-1]


@TRANSFORMS.register("vertical_flip")
class VerticalFlip(Flip):
    """Mirror top-bottom (the second-last spatial axis)."""

    ranks = (2, 3)
    defaults: dict[str, Any] = {}
    fixed_axes = [-2]


def _rot90(t: Any, k: int, a: int, b: int) -> Any:
    """np.rot90(t, k, axes=(a, b)) on batch axes a, b (rotation from axis a towards axis b)."""
    perm = list(range(t.shape.rank))
    perm[a], perm[b] = perm[b], perm[a]
    if k == 1:
        return tf.transpose(tf.reverse(t, [b]), perm)
    if k == 2:
        return tf.reverse(t, [a, b])
    return tf.reverse(tf.transpose(t, perm), [b])


@TRANSFORMS.register("rotate90")
class Rotate90(GeometricTransform):
    """Rotate by 0/90/180/270 degrees in one plane (only 0/180 when the plane is not square)."""

    ranks = (2, 3)
    moves_boxes = True
    fusable = True
    defaults: dict[str, Any] = {"axes": [-2, -1]}

    def setup(self) -> None:
        """The rank-free part of the plane check, so a bad `axes` fails when the config is built."""
        axes = self.params["axes"]
        if not isinstance(axes, list | tuple) or len(axes) != 2 or axes[0] == axes[1]:
            raise self.plane_error()

    def plane_error(self) -> ConfigError:
        return ConfigError(f"`{self.param_key('axes')}` must name two different spatial axes. "
                           f"Received: {self.params['axes']!r}")

    def plane(self, rank: int) -> tuple[int, int]:
        """The rotation plane on data of `rank`; axes that differ in the config can still be the
        same axis of the data (1 and -1 in 2D), which only shows here."""
        a, b = spatial_axes(self.params["axes"], rank, self.param_key("axes"))
        if a == b:
            raise self.plane_error()
        return a, b

    def sample(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        a, b = self.plane(len(shape))
        square = shape[a] == shape[b]
        k = tf.random.stateless_uniform([batch], fold_seed(seed, 1), 1, 4 if square else 2, tf.int32)
        k = k if square else 2 * k
        k = tf.where(self.active(seed, batch), k, tf.zeros_like(k))
        return k, k > 0

    def warp(self, t: Any, params: Any, interpolation: str) -> Any:
        rank = t.shape.rank - 2
        a, b = (axis + 1 for axis in self.plane(rank))
        square = t.shape[a] == t.shape[b]
        out = t
        for k in (1, 2, 3) if square else (2,):
            out = tf.where(per_example(tf.equal(params, k), rank), _rot90(t, k, a, b), out)
        return out

    def affine(self, params: Any, active: Any, shape: list[int]) -> tuple[Any, Any]:
        # np.rot90 by k: input = R^k @ output about the centre, R = [[0, 1], [-1, 0]] in (a, b)
        a, b = self.plane(len(shape))
        cos = tf.gather(tf.constant([1.0, 0.0, -1.0, 0.0]), params)
        sin = tf.gather(tf.constant([0.0, 1.0, 0.0, -1.0]), params)
        matrix = plane_matrix(len(shape), a, b, {(a, a): cos, (a, b): sin, (b, a): -sin,
                                                  (b, b): cos}, tf.shape(params)[0])
        return matrix, about_centre(matrix, shape)

    def move_boxes(self, boxes: Any, params: Any) -> Any:
        coords = _box_coords(boxes)
        if self.plane(2) != (0, 1):  # rotating from x towards y: the opposite sense
            params = tf.math.floormod(4 - params, 4)
        out = coords
        turned = coords
        for k in (1, 2, 3):  # one counter-clockwise quarter turn: (x, y) -> (y, 1 - x)
            x1, y1, x2, y2 = turned
            turned = [y1, 1.0 - x2, y2, 1.0 - x1]
            flag = _box_flag(tf.equal(params, k), boxes)
            out = [tf.where(flag, n, o) for n, o in zip(turned, out, strict=True)]
        return tf.stack(out, axis=-1)
