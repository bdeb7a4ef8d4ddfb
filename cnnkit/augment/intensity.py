"""Intensity transforms: they change input values only (images are in [0, 1] at this point);
masks, boxes and every other target stay as they are."""

from __future__ import annotations

import math
from typing import Any

from cnnkit.augment.base import TRANSFORMS, IntensityTransform
from cnnkit.augment.params import amount, number_range
from cnnkit.augment.random import box_region, fold_seed, per_example, uniform
from cnnkit.errors import ConfigError
from cnnkit.lazy import lazy

tf = lazy("tensorflow")


@TRANSFORMS.register("brightness")
class Brightness(IntensityTransform):
    """Add a random offset in [-delta, delta] (images are in [0, 1] at this point)."""

    defaults: dict[str, Any] = {"delta": 0.1}

    def setup(self) -> None:
        self.delta = number_range(self.params["delta"], self.param_key("delta"))

    def change(self, x: Any, seed: Any) -> Any:
        delta = uniform(seed, 1, [tf.shape(x)[0]], *self.delta)
        return x + per_example(delta, x.shape.rank - 2)


@TRANSFORMS.register("contrast")
class Contrast(IntensityTransform):
    """Scale deviations from the per-channel mean by a factor in [1 - f, 1 + f]."""

    defaults: dict[str, Any] = {"factor": 0.2}

    def setup(self) -> None:
        self.factor = number_range(self.params["factor"], self.param_key("factor"), centre=1.0,
                                    low_bound=0.0)

    def change(self, x: Any, seed: Any) -> Any:
        axes = list(range(1, x.shape.rank - 1))
        mean = tf.reduce_mean(x, axis=axes, keepdims=True)
        factor = per_example(uniform(seed, 1, [tf.shape(x)[0]], *self.factor), x.shape.rank - 2)
        return (x - mean) * factor + mean


@TRANSFORMS.register("scale")
class Scale(IntensityTransform):
    """Multiply the values by a factor in [1 - f, 1 + f] (amplitude scaling of signals)."""

    defaults: dict[str, Any] = {"factor": 0.2}

    def setup(self) -> None:
        self.factor = number_range(self.params["factor"], self.param_key("factor"), centre=1.0)

    def change(self, x: Any, seed: Any) -> Any:
        factor = uniform(seed, 1, [tf.shape(x)[0]], *self.factor)
        return x * per_example(factor, x.shape.rank - 2)


@TRANSFORMS.register("gamma")
class Gamma(IntensityTransform):
    """Gamma curve on each example's own [min, max] range, gamma drawn from [low, high]."""

    defaults: dict[str, Any] = {"gamma": [0.7, 1.5]}

    def setup(self) -> None:
        self.gamma = number_range(self.params["gamma"], self.param_key("gamma"), centre=1.0,
                                   low_bound=0.01)

    def change(self, x: Any, seed: Any) -> Any:
        axes = list(range(1, x.shape.rank))
        low = tf.reduce_min(x, axis=axes, keepdims=True)
        span = tf.maximum(tf.reduce_max(x, axis=axes, keepdims=True) - low, 1e-6)
        gamma = per_example(uniform(seed, 1, [tf.shape(x)[0]], *self.gamma), x.shape.rank - 2)
        return low + span * tf.pow((x - low) / span, gamma)


@TRANSFORMS.register("gaussian_noise")
class GaussianNoise(IntensityTransform):
    """Add zero-mean Gaussian noise; its std is drawn per example from `std` ([low, high] or a number)."""

    defaults: dict[str, Any] = {"std": 0.05}

    def setup(self) -> None:
        self.std = amount(self.params["std"], self.param_key("std"))

    def change(self, x: Any, seed: Any) -> Any:
        std = per_example(uniform(seed, 1, [tf.shape(x)[0]], *self.std), x.shape.rank - 2)
        return x + std * tf.random.stateless_normal(tf.shape(x), fold_seed(seed, 2))


@TRANSFORMS.register("gaussian_blur")
class GaussianBlur(IntensityTransform):
    """Separable Gaussian blur, sigma (in pixels) drawn per example from [low, high]."""

    defaults: dict[str, Any] = {"sigma": [0.1, 1.0]}
    default_p = 0.2

    def setup(self) -> None:
        self.sigma = amount(self.params["sigma"], self.param_key("sigma"))
        if self.sigma[0] <= 0:
            raise ConfigError(f"`{self.param_key('sigma')}` must be positive. Received: "
                              f"{self.params['sigma']!r}")

    def change(self, x: Any, seed: Any) -> Any:
        sigma = uniform(seed, 1, [tf.shape(x)[0]], *self.sigma)
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


@TRANSFORMS.register("cutout")
class Cutout(IntensityTransform):
    """Random erasing: fill `count` boxes (side fraction in `size`) with `value`; masks unchanged."""

    defaults: dict[str, Any] = {"size": [0.1, 0.3], "count": 1, "value": 0.0}

    def setup(self) -> None:
        self.size = number_range(self.params["size"], self.param_key("size"), low_bound=0.0)
        count = self.params["count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ConfigError(f"`{self.param_key('count')}` must be a positive integer. Received: {count!r}")

    def change(self, x: Any, seed: Any) -> Any:
        batch, shape = tf.shape(x)[0], [int(d) for d in x.shape[1:-1]]
        for i in range(int(self.params["count"])):
            box_seed = fold_seed(seed, 10 + i)
            sides = uniform(box_seed, 1, [batch, len(shape)], *self.size)
            region = box_region(box_seed, batch, shape, sides)
            x = x * (1.0 - region) + float(self.params["value"]) * region
        return x
