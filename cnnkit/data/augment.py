"""Seeded augmentation of 1D signals, 2D images and 3D volumes that moves targets with the input.

`build_augmentation(augment_cfg, target_kind, seed)` turns the `augment` config group (a list of
transforms, each `{name, p, **parameters}`) into an `Augmentation`:

- geometric transforms draw ONE set of random parameters per example and apply it to the input
  and to every spatial target: masks with nearest neighbour, clean "image" targets like the input;
  normalised boxes move with flips and 90-degree rotations;
- intensity transforms change the input only;
- mixup and cutmix mix whole batches of one-hot labels (`needs_one_hot`).

Every transform works on a batch with per-example random parameters, so the pipeline augments
whole batches (one op launch per transform instead of one per example); one example is a batch of
one. All randomness is stateless: parameters are a function of (seed, transform index), and the
pipeline draws one seed per batch from a seeded stream, so a run is reproducible.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from cnnkit.data.pipeline import resize_spatial
from cnnkit.errors import ConfigError, DataError, did_you_mean
from cnnkit.registry import Registry

TRANSFORMS: Registry[type] = Registry("augmentation transform", "augment.transforms[].name")
WHERE = ("pipeline", "model")
TOP_LEVEL_KEYS = ("transforms", "where")
TARGET_KINDS = ("label", "mask", "boxes", "values", "image", "input")
FILL_MODES = ("reflect", "constant", "nearest", "wrap")
INTERPOLATIONS = ("bilinear", "nearest")
RANK_NAMES = {1: "1D signals", 2: "2D images", 3: "3D volumes"}


# ----------------------------------------------------------------------------- random helpers


def _seed(seed: Any, salt: int) -> Any:
    return tf.random.experimental.stateless_fold_in(seed, salt)


def _uniform(seed: Any, salt: int, shape: Any, low: Any = 0.0, high: Any = 1.0) -> Any:
    return tf.random.stateless_uniform(shape, _seed(seed, salt), low, high)


def _beta(seed: Any, batch: Any, alpha: float) -> Any:
    """Beta(alpha, alpha) per example, from two stateless gamma draws."""
    a = tf.random.stateless_gamma([batch], _seed(seed, 101), alpha)
    b = tf.random.stateless_gamma([batch], _seed(seed, 102), alpha)
    return a / tf.maximum(a + b, 1e-12)


def _per_example(values: Any, rank: int) -> Any:
    """Reshape a (B,) tensor so it broadcasts over (B, *spatial, C)."""
    return tf.reshape(values, [-1] + [1] * (rank + 1))


# ----------------------------------------------------------------------------- sampling


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


def _grid(shape: list[int]) -> Any:
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
    coords = tf.einsum("bij,...j->b...i", matrix, _grid([int(d) for d in t.shape[1:-1]]))
    coords += tf.reshape(offset, [-1] + [1] * n + [n])
    return resample(t, coords, interpolation, fill_mode, fill_value)


def _about_centre(matrix: Any, shape: list[int]) -> Any:
    """The offset that makes `matrix` act about the centre of an array of `shape`."""
    centre = (tf.constant(shape, tf.float32) - 1.0) / 2.0
    return centre - tf.einsum("bij,j->bi", matrix, centre)


# ----------------------------------------------------------------------------- parameter parsing


def _number_range(value: Any, key: str, centre: float = 0.0, low_bound: float | None = None) -> tuple[float, float]:
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


def _amount(value: Any, key: str) -> tuple[float, float]:
    """A fixed amount `v` -> (v, v); `[lo, hi]` -> drawn per example; never negative."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value, value]
    return _number_range(value, key, low_bound=0.0)


def _choice(value: Any, key: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"`{key}` must be one of {', '.join(allowed)}. Received: {value!r}"
                          f"{did_you_mean(str(value), allowed)}")
    return str(value)


class Transform:
    """One configured transform; subclasses declare `defaults` (their parameters) and `kind`."""

    kind = "intensity"  # "geometric" | "intensity" | "batch"
    ranks: tuple[int, ...] = (1, 2, 3)  # spatial ranks it works on
    moves_boxes = False
    default_p = 0.5
    defaults: dict[str, Any] = {}

    def __init__(self, name: str, params: dict[str, Any], key: str) -> None:
        self.name, self.key = name, key
        allowed = ["p", *self.defaults]
        for param in params:
            if param not in allowed:
                raise ConfigError(
                    f"`{key}.{param}` is not a parameter of {name}. Expected some of: "
                    f"{', '.join(allowed)}.{did_you_mean(str(param), allowed)}"
                )
        p = params.get("p", self.default_p)
        if not isinstance(p, int | float) or isinstance(p, bool) or not 0 <= p <= 1:
            raise ConfigError(f"`{key}.p` must be a probability in [0, 1]. Received: {p!r}")
        self.p = float(p)
        self.params = {**self.defaults, **params}
        self.setup()

    def setup(self) -> None:
        """Check and convert `self.params`."""

    def param_key(self, param: str) -> str:
        return f"{self.key}.{param}"

    def active(self, seed: Any, batch: Any, salt: int = 0) -> Any:
        """(B,) booleans: which examples this transform changes."""
        return _uniform(seed, salt, [batch]) < self.p

    def check_rank(self, rank: int) -> None:
        if rank not in self.ranks:
            works = " and ".join(RANK_NAMES[r] for r in self.ranks)
            raise DataError(f"`{self.key}`: {self.name} works on {works}; the data are "
                            f"{RANK_NAMES.get(rank, f'{rank}D arrays')}.")


class IntensityTransform(Transform):
    """Changes input values only; targets stay as they are."""

    def change(self, x: Any, seed: Any) -> Any:
        """Change every example of `x` (the batch holds only the examples drawn to change)."""
        raise NotImplementedError


class GeometricTransform(Transform):
    """Moves input and spatial targets with the same random parameters."""

    kind = "geometric"
    fusable = False  # implements `affine`: fuses with neighbouring affine warps

    def sample(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        """Random parameters for a batch (each with a leading batch axis), and which examples
        they change."""
        raise NotImplementedError

    def warp(self, t: Any, params: Any, interpolation: str) -> Any:
        raise NotImplementedError

    def move_boxes(self, boxes: Any, params: Any) -> Any:
        raise NotImplementedError

    def affine(self, params: Any, active: Any, shape: list[int]) -> tuple[Any, Any]:
        """The warp as (B, n, n) matrices and (B, n) offsets (input = matrix @ output + offset;
        the identity where inactive), for transforms that are `fusable`."""
        raise NotImplementedError

    @property
    def interpolation(self) -> str:
        return str(self.params.get("interpolation", "bilinear"))

    @property
    def sampling(self) -> tuple[Any, ...] | None:
        """(interpolation, fill_mode, fill_value) of a warp that samples between pixels; None for
        one that moves whole pixels (flips, quarter turns), which fuses with any other."""
        return None


# ----------------------------------------------------------------------------- flips, 90 degrees


def _spatial_axes(axes: Any, rank: int, key: str) -> list[int]:
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


def _box_coords(boxes: Any) -> list[Any]:
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
        return _spatial_axes(axes, rank, self.param_key("axes"))

    def sample(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        flags = {axis: self.active(seed, batch, salt=axis) for axis in self.axes(len(shape))}
        return flags, tf.reduce_any(tf.stack(list(flags.values()), axis=0), axis=0)

    def warp(self, t: Any, params: Any, interpolation: str) -> Any:
        rank = t.shape.rank - 2
        for axis, flag in params.items():
            t = tf.where(_per_example(flag, rank), tf.reverse(t, [axis + 1]), t)
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

    def plane(self, rank: int) -> tuple[int, int]:
        axes = _spatial_axes(self.params["axes"], rank, self.param_key("axes"))
        if len(axes) != 2 or axes[0] == axes[1]:
            raise ConfigError(f"`{self.param_key('axes')}` must name two different spatial axes. "
                              f"Received: {self.params['axes']!r}")
        return axes[0], axes[1]

    def sample(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        a, b = self.plane(len(shape))
        square = shape[a] == shape[b]
        k = tf.random.stateless_uniform([batch], _seed(seed, 1), 1, 4 if square else 2, tf.int32)
        k = k if square else 2 * k
        k = tf.where(self.active(seed, batch), k, tf.zeros_like(k))
        return k, k > 0

    def warp(self, t: Any, params: Any, interpolation: str) -> Any:
        rank = t.shape.rank - 2
        a, b = (axis + 1 for axis in self.plane(rank))
        square = t.shape[a] == t.shape[b]
        out = t
        for k in (1, 2, 3) if square else (2,):
            out = tf.where(_per_example(tf.equal(params, k), rank), _rot90(t, k, a, b), out)
        return out

    def affine(self, params: Any, active: Any, shape: list[int]) -> tuple[Any, Any]:
        # np.rot90 by k: input = R^k @ output about the centre, R = [[0, 1], [-1, 0]] in (a, b)
        a, b = self.plane(len(shape))
        cos = tf.gather(tf.constant([1.0, 0.0, -1.0, 0.0]), params)
        sin = tf.gather(tf.constant([0.0, 1.0, 0.0, -1.0]), params)
        matrix = _plane_matrix(len(shape), a, b, {(a, a): cos, (a, b): sin, (b, a): -sin,
                                                  (b, b): cos}, tf.shape(params)[0])
        return matrix, _about_centre(matrix, shape)

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


# ----------------------------------------------------------------------------- affine family


class MatrixTransform(GeometricTransform):
    """A random affine map per example: input coordinate = matrix @ output coordinate + offset."""

    warp_defaults: dict[str, Any] = {"fill_mode": "reflect", "fill_value": 0.0,
                                     "interpolation": "bilinear"}
    fusable = True

    def setup(self) -> None:
        _choice(self.params["fill_mode"], self.param_key("fill_mode"), FILL_MODES)
        _choice(self.params["interpolation"], self.param_key("interpolation"), INTERPOLATIONS)
        self.setup_matrix()

    def setup_matrix(self) -> None:
        """Check the transform's own parameters."""

    def matrix(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        raise NotImplementedError

    def sample(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        return self.matrix(seed, batch, shape), self.active(seed, batch)

    def warp(self, t: Any, params: Any, interpolation: str) -> Any:
        matrix, offset = params
        return warp_affine(t, matrix, offset, interpolation, str(self.params["fill_mode"]),
                           float(self.params["fill_value"]))

    def affine(self, params: Any, active: Any, shape: list[int]) -> tuple[Any, Any]:
        matrix, offset = params
        identity = _eye_batch(len(shape), tf.shape(active)[0])
        return (tf.where(active[:, None, None], matrix, identity),
                tf.where(active[:, None], offset, tf.zeros_like(offset)))

    @property
    def sampling(self) -> tuple[Any, ...]:
        return (self.interpolation, str(self.params["fill_mode"]), float(self.params["fill_value"]))


def _eye_batch(n: int, batch: Any) -> Any:
    return tf.eye(n, batch_shape=[batch])


def _plane_matrix(n: int, i: int, j: int, entries: dict[tuple[int, int], Any], batch: Any) -> Any:
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


class Affine(MatrixTransform):
    """Rotation (every plane), shear, isotropic zoom and translation about the centre."""

    own_defaults: dict[str, Any] = {"degrees": 10.0, "scale": 0.1, "shear": 5.0, "translate": 0.05}
    defaults: dict[str, Any] = {**own_defaults, **MatrixTransform.warp_defaults}
    zero = {"degrees": 0.0, "scale": 0.0, "shear": 0.0, "translate": 0.0}

    def setup_matrix(self) -> None:
        params = {**self.zero, **self.params}
        key = self.param_key
        self.degrees = _number_range(params["degrees"], key("degrees"))
        self.shear = _number_range(params["shear"], key("shear"), low_bound=-80.0)
        self.scale = _number_range(params["scale"], key("scale"), centre=1.0, low_bound=0.05)
        self.translate = _number_range(params["translate"], key("translate"))
        if self.degrees != (0.0, 0.0) or self.shear != (0.0, 0.0):
            self.ranks = (2, 3)

    def matrix(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        n = len(shape)
        matrix = _eye_batch(n, batch)
        for salt, (i, j) in enumerate(itertools.combinations(range(n), 2)):
            theta = _uniform(seed, 10 + salt, [batch], *self.degrees) * (math.pi / 180.0)
            cos, sin = tf.cos(theta), tf.sin(theta)
            rotation = _plane_matrix(n, i, j, {(i, i): cos, (i, j): -sin, (j, i): sin, (j, j): cos},
                                     batch)
            shear = tf.tan(_uniform(seed, 20 + salt, [batch], *self.shear) * (math.pi / 180.0))
            matrix = matrix @ rotation @ _plane_matrix(n, i, j, {(i, j): shear}, batch)
        zoom = _uniform(seed, 30, [batch], *self.scale)
        matrix = matrix / zoom[:, None, None]  # zoom > 1 samples a smaller region: zooms in
        shift = _uniform(seed, 40, [batch, n], *self.translate) * tf.constant(shape, tf.float32)
        return matrix, _about_centre(matrix, shape) - shift


def _register_affine(name: str, doc: str, **own: Any) -> type:
    """A named special case of `affine` that accepts only its own parameter."""
    cls = type(
        name.title().replace("_", ""), (Affine,),
        {"__doc__": doc, "own_defaults": own, "defaults": {**own, **MatrixTransform.warp_defaults}},
    )
    return TRANSFORMS.register(name)(cls)


TRANSFORMS.register("affine")(Affine)
_register_affine("rotation", "Rotation by a random angle in degrees (every plane in 3D).",
                 degrees=15.0)
_register_affine("zoom", "Isotropic zoom: scale in [1 - s, 1 + s] (or [low, high]).", scale=0.1)
_register_affine("translation", "Shift by a fraction of each side.", translate=0.1)
_register_affine("shift", "1D name for translation: shift a signal by a fraction of its length.",
                 translate=0.1)
_register_affine("shear", "Shear by a random angle in degrees.", shear=10.0)


@TRANSFORMS.register("random_resized_crop")
class RandomResizedCrop(MatrixTransform):
    """Crop a random region (area fraction `scale`, aspect `ratio` in 2D) and resize it back."""

    defaults: dict[str, Any] = {"scale": [0.5, 1.0], "ratio": [0.75, 1.3333],
                                **MatrixTransform.warp_defaults}
    default_p = 1.0

    def setup_matrix(self) -> None:
        self.scale = _number_range(self.params["scale"], self.param_key("scale"), low_bound=0.01)
        self.ratio = _number_range(self.params["ratio"], self.param_key("ratio"), low_bound=0.01)
        if self.scale[1] > 1.0:
            raise ConfigError(f"`{self.param_key('scale')}` is an area fraction in (0, 1]. "
                              f"Received: {self.params['scale']!r}")

    def matrix(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        n = len(shape)
        area = _uniform(seed, 1, [batch], *self.scale)
        if n == 2:
            log_ratio = _uniform(seed, 2, [batch], math.log(self.ratio[0]), math.log(self.ratio[1]))
            ratio = tf.exp(log_ratio)  # width / height
            sides = tf.stack([tf.sqrt(area / ratio), tf.sqrt(area * ratio)], axis=-1)
        else:
            sides = tf.tile((area ** (1.0 / n))[:, None], [1, n])
        sides = tf.minimum(sides, 1.0)
        size = tf.constant(shape, tf.float32)
        start = _uniform(seed, 3, [batch, n]) * (1.0 - sides) * size
        offset = start + 0.5 * sides - 0.5  # pixel centres: in = start + side * (out + 0.5) - 0.5
        return tf.linalg.diag(sides), offset


@TRANSFORMS.register("elastic")
class Elastic(GeometricTransform):
    """Smooth random deformation (the U-Net paper): random displacements on a coarse grid,
    upsampled bicubically to a dense field; `magnitude` is their std as a fraction of each side."""

    ranks = (1, 2, 3)
    defaults: dict[str, Any] = {"magnitude": 0.03, "grid": 3, **MatrixTransform.warp_defaults}
    default_p = 0.3

    def setup(self) -> None:
        _choice(self.params["fill_mode"], self.param_key("fill_mode"), FILL_MODES)
        _choice(self.params["interpolation"], self.param_key("interpolation"), INTERPOLATIONS)
        magnitude, grid = self.params["magnitude"], self.params["grid"]
        if not isinstance(magnitude, int | float) or isinstance(magnitude, bool) or magnitude < 0:
            raise ConfigError(f"`{self.param_key('magnitude')}` must be a number >= 0 (a fraction "
                              f"of the image side). Received: {magnitude!r}")
        if not isinstance(grid, int) or isinstance(grid, bool) or grid < 2:
            raise ConfigError(f"`{self.param_key('grid')}` must be an integer >= 2. Received: {grid!r}")

    def sample(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        n = len(shape)
        grid = int(self.params["grid"])
        coarse = tf.random.stateless_normal([batch, *([grid] * n), n], _seed(seed, 1))
        coarse *= float(self.params["magnitude"]) * tf.constant(shape, tf.float32)
        return coarse, self.active(seed, batch)

    def warp(self, t: Any, params: Any, interpolation: str) -> Any:
        shape = [int(d) for d in t.shape[1:-1]]
        field = resize_spatial(params, shape, "bicubic" if len(shape) == 2 else "bilinear")
        return resample(t, _grid(shape) + field, interpolation, str(self.params["fill_mode"]),
                        float(self.params["fill_value"]))


# ----------------------------------------------------------------------------- intensity


@TRANSFORMS.register("brightness")
class Brightness(IntensityTransform):
    """Add a random offset in [-delta, delta] (images are in [0, 1] at this point)."""

    defaults: dict[str, Any] = {"delta": 0.1}

    def setup(self) -> None:
        self.delta = _number_range(self.params["delta"], self.param_key("delta"))

    def change(self, x: Any, seed: Any) -> Any:
        delta = _uniform(seed, 1, [tf.shape(x)[0]], *self.delta)
        return x + _per_example(delta, x.shape.rank - 2)


@TRANSFORMS.register("contrast")
class Contrast(IntensityTransform):
    """Scale deviations from the per-channel mean by a factor in [1 - f, 1 + f]."""

    defaults: dict[str, Any] = {"factor": 0.2}

    def setup(self) -> None:
        self.factor = _number_range(self.params["factor"], self.param_key("factor"), centre=1.0,
                                    low_bound=0.0)

    def change(self, x: Any, seed: Any) -> Any:
        axes = list(range(1, x.shape.rank - 1))
        mean = tf.reduce_mean(x, axis=axes, keepdims=True)
        factor = _per_example(_uniform(seed, 1, [tf.shape(x)[0]], *self.factor), x.shape.rank - 2)
        return (x - mean) * factor + mean


@TRANSFORMS.register("scale")
class Scale(IntensityTransform):
    """Multiply the values by a factor in [1 - f, 1 + f] (amplitude scaling of signals)."""

    defaults: dict[str, Any] = {"factor": 0.2}

    def setup(self) -> None:
        self.factor = _number_range(self.params["factor"], self.param_key("factor"), centre=1.0)

    def change(self, x: Any, seed: Any) -> Any:
        factor = _uniform(seed, 1, [tf.shape(x)[0]], *self.factor)
        return x * _per_example(factor, x.shape.rank - 2)


@TRANSFORMS.register("gamma")
class Gamma(IntensityTransform):
    """Gamma curve on each example's own [min, max] range, gamma drawn from [low, high]."""

    defaults: dict[str, Any] = {"gamma": [0.7, 1.5]}

    def setup(self) -> None:
        self.gamma = _number_range(self.params["gamma"], self.param_key("gamma"), centre=1.0,
                                   low_bound=0.01)

    def change(self, x: Any, seed: Any) -> Any:
        axes = list(range(1, x.shape.rank))
        low = tf.reduce_min(x, axis=axes, keepdims=True)
        span = tf.maximum(tf.reduce_max(x, axis=axes, keepdims=True) - low, 1e-6)
        gamma = _per_example(_uniform(seed, 1, [tf.shape(x)[0]], *self.gamma), x.shape.rank - 2)
        return low + span * tf.pow((x - low) / span, gamma)


@TRANSFORMS.register("gaussian_noise")
class GaussianNoise(IntensityTransform):
    """Add zero-mean Gaussian noise; its std is drawn per example from `std` ([low, high] or a number)."""

    defaults: dict[str, Any] = {"std": 0.05}

    def setup(self) -> None:
        self.std = _amount(self.params["std"], self.param_key("std"))

    def change(self, x: Any, seed: Any) -> Any:
        std = _per_example(_uniform(seed, 1, [tf.shape(x)[0]], *self.std), x.shape.rank - 2)
        return x + std * tf.random.stateless_normal(tf.shape(x), _seed(seed, 2))


@TRANSFORMS.register("gaussian_blur")
class GaussianBlur(IntensityTransform):
    """Separable Gaussian blur, sigma (in pixels) drawn per example from [low, high]."""

    defaults: dict[str, Any] = {"sigma": [0.1, 1.0]}
    default_p = 0.2

    def setup(self) -> None:
        self.sigma = _amount(self.params["sigma"], self.param_key("sigma"))
        if self.sigma[0] <= 0:
            raise ConfigError(f"`{self.param_key('sigma')}` must be positive. Received: "
                              f"{self.params['sigma']!r}")

    def change(self, x: Any, seed: Any) -> Any:
        sigma = _uniform(seed, 1, [tf.shape(x)[0]], *self.sigma)
        for axis in range(1, x.shape.rank - 1):
            radius = min(int(math.ceil(3 * self.sigma[1])), int(x.shape[axis]) - 1)
            if radius < 1:
                continue
            taps = tf.range(-radius, radius + 1, dtype=tf.float32)
            kernel = tf.exp(-0.5 * (taps[None, :] / sigma[:, None]) ** 2)
            kernel /= tf.reduce_sum(kernel, axis=1, keepdims=True)
            x = _convolve_axis(x, kernel, axis, radius)
        return x


def _convolve_axis(x: Any, kernel: Any, axis: int, radius: int) -> Any:
    """Convolve each example of (B, *S, C) along `axis` with its own 1D kernel (B, K), reflect-padded.

    Batch and channels are folded into the channels of one depthwise convolution.
    """
    rank = x.shape.rank
    perm = [axis, *[a for a in range(1, rank - 1) if a != axis], 0, rank - 1]
    moved = tf.transpose(x, perm)  # (N, rest..., B, C)
    moved_shape = tf.shape(moved)
    n, channels = int(x.shape[axis]), int(x.shape[-1])
    flat = tf.reshape(moved, [1, n, -1, tf.shape(x)[0] * channels])  # (1, N, R, B*C)
    flat = tf.pad(flat, [[0, 0], [radius, radius], [0, 0], [0, 0]], mode="REFLECT")
    filters = tf.repeat(tf.transpose(kernel), channels, axis=1)  # (K, B*C)
    out = tf.nn.depthwise_conv2d(flat, filters[:, None, :, None], [1, 1, 1, 1], "VALID")
    out = tf.transpose(tf.reshape(out, moved_shape), tf.math.invert_permutation(perm))
    out.set_shape(x.shape)
    return out


def _box_region(seed: Any, batch: Any, shape: list[int], sides: Any) -> Any:
    """(B, *shape, 1) float mask of one axis-aligned box per example, side fractions (B, n).

    Built as the product of one 1D inside-test per axis (a few hundred comparisons instead of
    one per pixel and axis)."""
    n = len(shape)
    size = tf.constant(shape, tf.float32)
    centre = _uniform(seed, 7, [batch, n]) * size
    half = sides * size / 2.0
    region = None
    for axis, length in enumerate(shape):
        position = tf.range(length, dtype=tf.float32) + 0.5
        inside = tf.abs(position[None] - centre[:, axis, None]) < half[:, axis, None]  # (B, L)
        spread = [-1] + [length if a == axis else 1 for a in range(n)] + [1]
        inside = tf.reshape(tf.cast(inside, tf.float32), spread)
        region = inside if region is None else region * inside
    return region


@TRANSFORMS.register("cutout")
class Cutout(IntensityTransform):
    """Random erasing: fill `count` boxes (side fraction in `size`) with `value`; masks unchanged."""

    defaults: dict[str, Any] = {"size": [0.1, 0.3], "count": 1, "value": 0.0}

    def setup(self) -> None:
        self.size = _number_range(self.params["size"], self.param_key("size"), low_bound=0.0)
        count = self.params["count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ConfigError(f"`{self.param_key('count')}` must be a positive integer. Received: {count!r}")

    def change(self, x: Any, seed: Any) -> Any:
        batch, shape = tf.shape(x)[0], [int(d) for d in x.shape[1:-1]]
        for i in range(int(self.params["count"])):
            box_seed = _seed(seed, 10 + i)
            sides = _uniform(box_seed, 1, [batch, len(shape)], *self.size)
            region = _box_region(box_seed, batch, shape, sides)
            x = x * (1.0 - region) + float(self.params["value"]) * region
        return x


# ----------------------------------------------------------------------------- batch level


class BatchTransform(Transform):
    """Mixes examples of one batch; labels must be one-hot (soft labels come out)."""

    kind = "batch"

    def setup(self) -> None:
        alpha = self.params["alpha"]
        if not isinstance(alpha, int | float) or isinstance(alpha, bool) or alpha <= 0:
            raise ConfigError(f"`{self.param_key('alpha')}` must be a positive number. Received: {alpha!r}")

    def mix(self, x: Any, y: Any, seed: Any) -> tuple[Any, Any]:
        if y.shape.rank != 2:
            raise DataError(f"`{self.key}`: {self.name} needs one-hot labels (batch, classes). "
                            f"Received labels of shape {y.shape}.")
        batch = tf.shape(x)[0]
        partner = tf.random.experimental.stateless_shuffle(tf.range(batch), _seed(seed, 3))
        lam = tf.where(self.active(seed, batch), _beta(seed, batch, float(self.params["alpha"])), 1.0)
        x, weight = self.combine(x, tf.gather(x, partner), lam, seed)
        y = tf.cast(y, tf.float32)
        return x, weight[:, None] * y + (1.0 - weight[:, None]) * tf.gather(y, partner)

    def combine(self, x: Any, other: Any, lam: Any, seed: Any) -> tuple[Any, Any]:
        raise NotImplementedError


@TRANSFORMS.register("mixup")
class Mixup(BatchTransform):
    """x = lam * x + (1 - lam) * x', same for one-hot labels; lam ~ Beta(alpha, alpha)."""

    defaults: dict[str, Any] = {"alpha": 0.2}

    def combine(self, x: Any, other: Any, lam: Any, seed: Any) -> tuple[Any, Any]:
        w = _per_example(lam, x.shape.rank - 2)
        return w * x + (1.0 - w) * other, lam


@TRANSFORMS.register("cutmix")
class CutMix(BatchTransform):
    """Paste a box of another example (area 1 - lam); labels weighted by the pasted area."""

    defaults: dict[str, Any] = {"alpha": 1.0}

    def combine(self, x: Any, other: Any, lam: Any, seed: Any) -> tuple[Any, Any]:
        shape = [int(d) for d in x.shape[1:-1]]
        sides = tf.tile(((1.0 - lam) ** (1.0 / len(shape)))[:, None], [1, len(shape)])
        region = _box_region(seed, tf.shape(x)[0], shape, sides)
        kept = 1.0 - tf.reduce_mean(region, axis=list(range(1, len(shape) + 2)))
        return x * (1.0 - region) + other * region, kept


# ----------------------------------------------------------------------------- the whole list


class Augmentation:
    """A configured list of transforms for one target kind; callable on one example."""

    def __init__(self, transforms: list[Transform], target_kind: Any, seed: int, where: str) -> None:
        self.transforms = transforms
        self.target_kind = target_kind
        self.seed = int(seed)
        self.where = where

    @property
    def has_batch_transforms(self) -> bool:
        return any(t.kind == "batch" for t in self.transforms)

    def default_seed(self) -> Any:
        return tf.constant([self.seed, 0], tf.int64)

    def __call__(self, x: Any, y: Any, seed: Any = None) -> tuple[Any, Any]:
        """One example (no batch axis). Mixup/cutmix need a batch and are left to `apply_batch`."""
        xb, yb = self.apply_batch(x[None], tf.nest.map_structure(lambda t: t[None], y), seed,
                                  per_example_only=True)
        return xb[0], tf.nest.map_structure(lambda t: t[0], yb)

    def apply_batch(self, x: Any, y: Any = None, seed: Any = None,
                    per_example_only: bool = False) -> tuple[Any, Any]:
        """A batch (B, *spatial, C) with per-example random parameters; `seed` is a (2,) int tensor.

        `y=None` augments inputs alone (augmentation inside the model).
        """
        seed = self.default_seed() if seed is None else tf.cast(seed, tf.int64)
        x = tf.convert_to_tensor(x)
        if not x.dtype.is_floating:
            x = tf.cast(x, tf.float32)
        if y is not None:
            y = tf.nest.map_structure(tf.convert_to_tensor, y)
        rank = x.shape.rank - 2
        shape = [int(d) for d in x.shape[1:-1]]
        batch = tf.shape(x)[0]
        for step in self._steps(rank):
            if len(step) > 1:
                x, y = self._warp_fused(step, seed, x, y, shape)
                continue
            index, transform = step[0]
            step_seed = _seed(seed, index)
            if transform.kind == "geometric":
                params, active = transform.sample(step_seed, batch, shape)

                def geometric(x: Any, y: Any, params: Any, transform: Any = transform) -> Any:
                    def warp(t: Any, interpolation: str | None) -> Any:
                        return transform.warp(t, params, interpolation or transform.interpolation)

                    def move_boxes(boxes: Any) -> Any:
                        return transform.move_boxes(boxes, params)

                    return warp(x, None), self._move(y, self.target_kind, warp, move_boxes, shape)

                x, y = _on_subset(active, geometric, x, y, params, transform.p >= 1.0)
            elif transform.kind == "intensity":

                def intensity(x: Any, y: Any, _: Any, transform: Any = transform,
                              seed: Any = step_seed) -> Any:
                    return transform.change(x, seed), y

                x, y = _on_subset(transform.active(step_seed, batch), intensity, x, y, (),
                                  transform.p >= 1.0)
            elif not per_example_only and y is not None:
                x, y = transform.mix(x, y, step_seed)
        return x, y

    def _steps(self, rank: int) -> list[list[tuple[int, Transform]]]:
        """The (index, transform) list in order, with runs of affine warps (flips, quarter turns,
        affine, crops) grouped: each run is fused into one resampling, which is faster and, with
        bilinear interpolation, sharper than resampling once per transform. In 1D/3D a run is fused
        only when it resamples anyway (flips and quarter turns alone are cheaper as they are)."""
        steps: list[list[tuple[int, Transform]]] = []
        for index, transform in enumerate(self.transforms):
            transform.check_rank(rank)
            if steps and _fuses(steps[-1], transform):
                steps[-1].append((index, transform))
            else:
                steps.append([(index, transform)])
        out = []
        for step in steps:
            fused = len(step) > 1 and (rank == 2 or any(t.sampling is not None for _, t in step))
            out.extend([step] if fused else [[item] for item in step])
        return out

    def _warp_fused(self, step: list[tuple[int, Transform]], seed: Any, x: Any, y: Any,
                    shape: list[int]) -> tuple[Any, Any]:
        """Apply a run of affine warps as one: their maps composed per example."""
        batch, n = tf.shape(x)[0], len(shape)
        matrix, offset = _eye_batch(n, batch), tf.zeros([batch, n])
        members, any_active = [], tf.zeros([batch], tf.bool)
        for index, transform in step:
            params, active = transform.sample(_seed(seed, index), batch, shape)
            step_matrix, step_offset = transform.affine(params, active, shape)
            # out = T2(T1(in)): input = M1 (M2 p + o2) + o1
            offset = offset + tf.einsum("bij,bj->bi", matrix, step_offset)
            matrix = matrix @ step_matrix
            members.append(params)
            any_active = any_active | active
        samplings = [t.sampling for _, t in step if t.sampling is not None]
        interpolation, fill_mode, fill_value = samplings[0] if samplings else ("nearest", "reflect", 0.0)

        def fused(x: Any, y: Any, params: Any) -> Any:
            (matrix, offset), member_params = params

            def warp(t: Any, chosen: str | None) -> Any:
                return warp_affine(t, matrix, offset, chosen or interpolation, fill_mode, fill_value)

            def move_boxes(boxes: Any) -> Any:
                for (_, transform), own in zip(step, member_params, strict=True):
                    boxes = transform.move_boxes(boxes, own)
                return boxes

            return warp(x, None), self._move(y, self.target_kind, warp, move_boxes, shape)

        return _on_subset(any_active, fused, x, y, ((matrix, offset), members), neutral=True)

    def _move(self, y: Any, kind: Any, warp: Any, move_boxes: Any, shape: list[int]) -> Any:
        """Targets after a geometric step: `warp(t, interpolation or None)` moves spatial ones
        (masks nearest-neighbour), `move_boxes` moves boxes, the rest stay."""
        if y is None:
            return None
        if isinstance(kind, Mapping):
            return {head: self._move(value, kind.get(head, "values"), warp, move_boxes, shape)
                    for head, value in y.items()}
        if kind in ("mask", "image", "input"):
            if [int(d) for d in y.shape[1:-1]] != shape:
                raise DataError(f"A {kind} target of shape {tuple(y.shape[1:])} does not match its "
                                f"input's spatial shape {tuple(shape)}.")
            return warp(y, "nearest" if kind == "mask" else None)
        if kind == "boxes":
            return move_boxes(y)
        return y


def _fuses(step: list[tuple[int, Transform]], transform: Transform) -> bool:
    """Whether `transform` joins the run of affine warps `step` (same sampling settings)."""
    members = [t for _, t in step] + [transform]
    if not all(t.kind == "geometric" and t.fusable for t in members):
        return False
    return len({t.sampling for t in members if t.sampling is not None}) <= 1


def _on_subset(active: Any, fn: Any, x: Any, y: Any, params: Any, always: bool = False,
               neutral: bool = False) -> tuple[Any, Any]:
    """`fn(x, y, params)` on the examples where `active` holds; the others pass unchanged.

    Transforms with probability p then cost about p of a full batch (most presets use p < 1);
    `always` (p = 1) skips the selection. `neutral`: `fn` itself leaves inactive examples as they
    are (identity parameters), so when most are active it runs on the whole batch rather than
    gathering and scattering them.
    """
    if always:
        return fn(x, y, params)
    index = tf.where(active)[:, 0]
    targets = () if y is None else y

    def changed() -> tuple[Any, Any]:
        def take(t: Any) -> Any:
            return tf.gather(t, index)

        def put(t: Any, new: Any) -> Any:
            return tf.tensor_scatter_nd_update(t, index[:, None], tf.cast(new, t.dtype))

        new_x, new_y = fn(take(x), tf.nest.map_structure(take, targets),
                          tf.nest.map_structure(take, params))
        return put(x, new_x), tf.nest.map_structure(put, targets, new_y)

    def some() -> tuple[Any, Any]:
        return tf.cond(tf.size(index) > 0, changed, lambda: (x, targets))

    if neutral:
        def whole() -> tuple[Any, Any]:
            new_x, new_y = fn(x, targets, params)
            return tf.cast(new_x, x.dtype), tf.nest.map_structure(
                lambda t, new: tf.cast(new, t.dtype), targets, new_y)

        most = tf.size(index) * 2 >= tf.size(active)
        x, targets = tf.cond(most, whole, some)
    else:
        x, targets = some()
    return x, (None if y is None else targets)


def _kinds(target_kind: Any) -> list[str]:
    if isinstance(target_kind, Mapping):
        return [str(k) for k in target_kind.values()]
    return [str(target_kind)]


def _transform_list(augment_cfg: Any) -> list[Any]:
    if augment_cfg is None:
        return []
    transforms = augment_cfg.get("transforms") or []
    if not isinstance(transforms, list | tuple) and type(transforms).__name__ != "ListConfig":
        raise ConfigError(f"`augment.transforms` must be a list of transforms. Received: {transforms!r}")
    return list(transforms)


def needs_one_hot(augment_cfg: Any) -> bool:
    """True when the augmentation mixes labels (mixup, cutmix): the loss must take soft one-hot labels."""
    names = [str(item.get("name")) for item in map(_plain, _transform_list(augment_cfg))
             if isinstance(item, Mapping)]
    return any(name in TRANSFORMS and TRANSFORMS.get(name).kind == "batch" for name in names)


def _plain(item: Any) -> Any:
    """An OmegaConf node -> plain Python containers; anything else unchanged."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(item, DictConfig | ListConfig):
        return OmegaConf.to_container(item, resolve=True)
    return item


def build_augmentation(augment_cfg: Any, target_kind: Any, seed: int) -> Augmentation | None:
    """The configured augmentation for targets of `target_kind`, or None when there is none."""
    cfg = _plain(augment_cfg) or {}
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"`augment` must be a mapping with a `transforms` list. Received: {cfg!r}")
    for key in cfg:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"`augment.{key}` is not an augment setting. Expected some of: "
                              f"{', '.join(TOP_LEVEL_KEYS)}.{did_you_mean(str(key), TOP_LEVEL_KEYS)}")
    where = _choice(cfg.get("where", "pipeline"), "augment.where", WHERE)
    if where == "model" and _kinds(target_kind) != ["label"]:
        raise ConfigError("`augment.where=model` transforms the inputs alone; the task's targets "
                          f"({', '.join(_kinds(target_kind))}) must move with them. "
                          "Use augment.where=pipeline.")
    kinds = _kinds(target_kind)
    for kind in kinds:
        if kind not in TARGET_KINDS:
            raise ConfigError(f"Unknown target kind {kind!r}. Expected one of: {', '.join(TARGET_KINDS)}")
    transforms: list[Transform] = []
    for index, item in enumerate(_transform_list(cfg)):
        key = f"augment.transforms[{index}]"
        if not isinstance(item, Mapping) or "name" not in item:
            raise ConfigError(f"`{key}` must be a mapping with a `name`, e.g. "
                              f"{{name: horizontal_flip, p: 0.5}}. Received: {item!r}")
        name = str(item["name"])
        if name not in TRANSFORMS:
            names = TRANSFORMS.list()
            raise ConfigError(f"`{key}.name` names an unknown augmentation transform. Received: "
                              f"{name!r}. Expected one of: {', '.join(names)}.{did_you_mean(name, names)}")
        params = {k: v for k, v in item.items() if k != "name"}
        transform = TRANSFORMS.get(name)(name, params, key)
        _check_compatible(transform, kinds, key)
        if where == "model" and transform.kind != "geometric":
            # inside the model the inputs are already standardised: intensity changes defined on
            # [0, 1] images (gamma, brightness, erasing) and label mixing belong to the pipeline
            raise ConfigError(f"`{key}.name`: {name} runs in the input pipeline only; with "
                              "augment.where=model use geometric transforms (flips, rotations, "
                              "affine, crops, elastic) or set augment.where=pipeline.")
        transforms.append(transform)
    if not transforms:
        return None
    return Augmentation(transforms, target_kind, seed, where)


def _check_compatible(transform: Transform, kinds: list[str], key: str) -> None:
    """Refuse combinations that would silently corrupt targets."""
    if transform.kind == "geometric" and "boxes" in kinds and not transform.moves_boxes:
        raise ConfigError(f"`{key}.name`: {transform.name} cannot move box targets. Box targets "
                          "move with flip, horizontal_flip, vertical_flip and rotate90 only.")
    if transform.kind == "batch" and kinds != ["label"]:
        raise ConfigError(f"`{key}.name`: {transform.name} mixes class labels; the task's targets "
                          f"are {', '.join(kinds)}.")
