"""Warps that resample between pixels: the affine family (affine, rotation, zoom, translation,
shift, shear), random resized crops, and elastic deformation."""

from __future__ import annotations

import itertools
import math
from typing import Any

from cnnkit.augment.base import TRANSFORMS, GeometricTransform
from cnnkit.augment.params import FILL_MODES, INTERPOLATIONS, choice, number_range
from cnnkit.augment.random import fold_seed, uniform
from cnnkit.augment.sampling import (
    about_centre,
    coordinate_grid,
    eye_batch,
    plane_matrix,
    resample,
    resize_spatial,
    warp_affine,
)
from cnnkit.errors import ConfigError
from cnnkit.lazy import lazy

tf = lazy("tensorflow")


def _check_sampling(transform: GeometricTransform) -> None:
    """The fill_mode and interpolation of a warp that resamples, with did-you-mean."""
    choice(transform.params["fill_mode"], transform.param_key("fill_mode"), FILL_MODES)
    choice(transform.params["interpolation"], transform.param_key("interpolation"), INTERPOLATIONS)


class MatrixTransform(GeometricTransform):
    """A random affine map per example: input coordinate = matrix @ output coordinate + offset."""

    warp_defaults: dict[str, Any] = {"fill_mode": "reflect", "fill_value": 0.0,
                                     "interpolation": "bilinear"}
    fusable = True

    def setup(self) -> None:
        _check_sampling(self)
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
        identity = eye_batch(len(shape), tf.shape(active)[0])
        return (tf.where(active[:, None, None], matrix, identity),
                tf.where(active[:, None], offset, tf.zeros_like(offset)))

    @property
    def sampling(self) -> tuple[Any, ...]:
        return (self.interpolation, str(self.params["fill_mode"]), float(self.params["fill_value"]))


class Affine(MatrixTransform):
    """Rotation (every plane), shear, isotropic zoom and translation about the centre."""

    own_defaults: dict[str, Any] = {"degrees": 10.0, "scale": 0.1, "shear": 5.0, "translate": 0.05}
    defaults: dict[str, Any] = {**own_defaults, **MatrixTransform.warp_defaults}
    zero = {"degrees": 0.0, "scale": 0.0, "shear": 0.0, "translate": 0.0}

    def setup_matrix(self) -> None:
        params = {**self.zero, **self.params}
        key = self.param_key
        self.degrees = number_range(params["degrees"], key("degrees"))
        self.shear = number_range(params["shear"], key("shear"), low_bound=-80.0)
        self.scale = number_range(params["scale"], key("scale"), centre=1.0, low_bound=0.05)
        self.translate = number_range(params["translate"], key("translate"))
        if self.degrees != (0.0, 0.0) or self.shear != (0.0, 0.0):
            self.ranks = (2, 3)

    def matrix(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        n = len(shape)
        matrix = eye_batch(n, batch)
        for salt, (i, j) in enumerate(itertools.combinations(range(n), 2)):
            theta = uniform(seed, 10 + salt, [batch], *self.degrees) * (math.pi / 180.0)
            cos, sin = tf.cos(theta), tf.sin(theta)
            rotation = plane_matrix(n, i, j, {(i, i): cos, (i, j): -sin, (j, i): sin, (j, j): cos},
                                    batch)
            shear = tf.tan(uniform(seed, 20 + salt, [batch], *self.shear) * (math.pi / 180.0))
            matrix = matrix @ rotation @ plane_matrix(n, i, j, {(i, j): shear}, batch)
        zoom = uniform(seed, 30, [batch], *self.scale)
        matrix = matrix / zoom[:, None, None]  # zoom > 1 samples a smaller region: zooms in
        shift = uniform(seed, 40, [batch, n], *self.translate) * tf.constant(shape, tf.float32)
        return matrix, about_centre(matrix, shape) - shift


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
        self.scale = number_range(self.params["scale"], self.param_key("scale"), low_bound=0.01)
        self.ratio = number_range(self.params["ratio"], self.param_key("ratio"), low_bound=0.01)
        if self.scale[1] > 1.0:
            raise ConfigError(f"`{self.param_key('scale')}` is an area fraction in (0, 1]. "
                              f"Received: {self.params['scale']!r}")

    def matrix(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        n = len(shape)
        area = uniform(seed, 1, [batch], *self.scale)
        if n == 2:
            log_ratio = uniform(seed, 2, [batch], math.log(self.ratio[0]), math.log(self.ratio[1]))
            ratio = tf.exp(log_ratio)  # width / height
            sides = tf.stack([tf.sqrt(area / ratio), tf.sqrt(area * ratio)], axis=-1)
        else:
            sides = tf.tile((area ** (1.0 / n))[:, None], [1, n])
        sides = tf.minimum(sides, 1.0)
        size = tf.constant(shape, tf.float32)
        start = uniform(seed, 3, [batch, n]) * (1.0 - sides) * size
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
        _check_sampling(self)
        magnitude, grid = self.params["magnitude"], self.params["grid"]
        if not isinstance(magnitude, int | float) or isinstance(magnitude, bool) or magnitude < 0:
            raise ConfigError(f"`{self.param_key('magnitude')}` must be a number >= 0 (a fraction "
                              f"of the image side). Received: {magnitude!r}")
        if not isinstance(grid, int) or isinstance(grid, bool) or grid < 2:
            raise ConfigError(f"`{self.param_key('grid')}` must be an integer >= 2. Received: {grid!r}")

    def sample(self, seed: Any, batch: Any, shape: list[int]) -> tuple[Any, Any]:
        n = len(shape)
        grid = int(self.params["grid"])
        coarse = tf.random.stateless_normal([batch, *([grid] * n), n], fold_seed(seed, 1))
        coarse *= float(self.params["magnitude"]) * tf.constant(shape, tf.float32)
        return coarse, self.active(seed, batch)

    def warp(self, t: Any, params: Any, interpolation: str) -> Any:
        shape = [int(d) for d in t.shape[1:-1]]
        field = resize_spatial(params, shape, "bicubic" if len(shape) == 2 else "bilinear")
        return resample(t, coordinate_grid(shape) + field, interpolation, str(self.params["fill_mode"]),
                        float(self.params["fill_value"]))
