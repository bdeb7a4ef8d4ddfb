"""The TRANSFORMS registry and the base classes every transform derives from.

A transform checks its parameters when it is constructed (plain Python, no TensorFlow), so
building an augmentation validates the whole config; only applying it touches tensors.
"""

from __future__ import annotations

from typing import Any

from cnnkit.augment.params import RANK_NAMES
from cnnkit.augment.random import uniform
from cnnkit.errors import ConfigError, DataError, did_you_mean
from cnnkit.registry import Registry

TRANSFORMS: Registry[type] = Registry("augmentation transform", "augment.transforms[].name")


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
        """The full config key of one parameter, for error messages."""
        return f"{self.key}.{param}"

    def active(self, seed: Any, batch: Any, salt: int = 0) -> Any:
        """(B,) booleans: which examples this transform changes."""
        return uniform(seed, salt, [batch]) < self.p

    def check_rank(self, rank: int) -> None:
        """Refuse data of a spatial rank the transform does not work on."""
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
