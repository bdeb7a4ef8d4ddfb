"""Mixing transforms (mixup, cutmix): they mix the examples of one batch and their one-hot
labels, so they run on batches only and need soft labels (`needs_one_hot`)."""

from __future__ import annotations

from typing import Any

from cnnkit.augment.base import TRANSFORMS, Transform
from cnnkit.augment.random import beta, box_region, fold_seed, per_example
from cnnkit.errors import ConfigError, DataError
from cnnkit.lazy import lazy

tf = lazy("tensorflow")


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
        partner = tf.random.experimental.stateless_shuffle(tf.range(batch), fold_seed(seed, 3))
        lam = tf.where(self.active(seed, batch), beta(seed, batch, float(self.params["alpha"])), 1.0)
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
        w = per_example(lam, x.shape.rank - 2)
        return w * x + (1.0 - w) * other, lam


@TRANSFORMS.register("cutmix")
class CutMix(BatchTransform):
    """Paste a box of another example (area 1 - lam); labels weighted by the pasted area."""

    defaults: dict[str, Any] = {"alpha": 1.0}

    def combine(self, x: Any, other: Any, lam: Any, seed: Any) -> tuple[Any, Any]:
        shape = [int(d) for d in x.shape[1:-1]]
        sides = tf.tile(((1.0 - lam) ** (1.0 / len(shape)))[:, None], [1, len(shape)])
        region = box_region(seed, tf.shape(x)[0], shape, sides)
        kept = 1.0 - tf.reduce_mean(region, axis=list(range(1, len(shape) + 2)))
        return x * (1.0 - region) + other * region, kept
