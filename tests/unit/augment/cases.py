"""Shared cases for the augmentation tests: strong parameters for every geometric transform, an
asymmetric mask that no flip or turn maps onto itself, and the shipped presets' folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from cnnkit.augment import TRANSFORMS

CONF = Path(__file__).resolve().parents[3] / "conf" / "augment"
GEOMETRIC = [n for n in TRANSFORMS.list() if TRANSFORMS.get(n).kind == "geometric"]
INTENSITY = [n for n in TRANSFORMS.list() if TRANSFORMS.get(n).kind == "intensity"]
# Parameters strong enough that every transform visibly moves the test mask.
STRONG = {
    "affine": {"degrees": 30, "scale": 0.2, "shear": 10, "translate": 0.1},
    "rotation": {"degrees": [25, 40]},
    "zoom": {"scale": [1.3, 1.5]},
    "translation": {"translate": [0.15, 0.25]},
    "shift": {"translate": [0.15, 0.25]},
    "shear": {"shear": [15, 25]},
    "random_resized_crop": {"scale": [0.3, 0.5]},
    "elastic": {"magnitude": 0.08},
}
SEED = tf.constant([7, 11], tf.int64)


def l_shaped_mask(rank: int) -> np.ndarray:
    """An asymmetric mask (no flip or rotation maps it onto itself), batch of 2, with labels 1, 2."""
    n = 32 if rank < 3 else 16
    mask = np.zeros((2, *([n] * rank), 1), "int32")
    s = n // 16
    if rank == 1:
        mask[:, 3 * s : 9 * s] = 1
        mask[:, 9 * s : 11 * s] = 2
    elif rank == 2:
        mask[:, 2 * s : 6 * s, 3 * s : 12 * s] = 1
        mask[:, 6 * s : 13 * s, 3 * s : 6 * s] = 2
    else:
        mask[:, 2:6, 3:12, 2:9] = 1
        mask[:, 6:13, 3:6, 2:5] = 2
    mask[1] = np.flip(mask[1], axis=0)  # a different example in the same batch
    return mask


def one_transform(name: str, rank: int, **extra: object) -> dict:
    params = {**STRONG.get(name, {}), **extra}
    if "interpolation" not in TRANSFORMS.get(name).defaults:
        params.pop("interpolation", None)
    return {"transforms": [{"name": name, "p": 1.0, **params}]}


def supports(name: str, rank: int) -> bool:
    transform = TRANSFORMS.get(name)(name, {**STRONG.get(name, {})}, "t")
    return rank in transform.ranks
