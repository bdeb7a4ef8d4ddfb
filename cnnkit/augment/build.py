"""Building an augmentation from the `augment` config group, without TensorFlow.

`build_augmentation(augment_cfg, target_kind, seed)` looks up each transform, checks its
parameters, probability, `where` and the task's target kinds, and raises a `ConfigError` naming
the full key (`augment.transforms[2].degrees`) for anything wrong, so a TF-free validation pass
can call it; only applying the result imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnkit.augment.base import TRANSFORMS, Transform
from cnnkit.augment.composition import Augmentation
from cnnkit.augment.params import choice
from cnnkit.config.plain import to_plain
from cnnkit.errors import ConfigError, did_you_mean

WHERE = ("pipeline", "model")
TOP_LEVEL_KEYS = ("transforms", "where")
TARGET_KINDS = ("label", "mask", "boxes", "values", "image", "input")


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
    names = [str(item.get("name")) for item in map(to_plain, _transform_list(augment_cfg))
             if isinstance(item, Mapping)]
    return any(name in TRANSFORMS and TRANSFORMS.get(name).kind == "batch" for name in names)


def build_augmentation(augment_cfg: Any, target_kind: Any, seed: int) -> Augmentation | None:
    """The configured augmentation for targets of `target_kind`, or None when there is none."""
    cfg = to_plain(augment_cfg) or {}
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"`augment` must be a mapping with a `transforms` list. Received: {cfg!r}")
    for key in cfg:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"`augment.{key}` is not an augment setting. Expected some of: "
                              f"{', '.join(TOP_LEVEL_KEYS)}.{did_you_mean(str(key), TOP_LEVEL_KEYS)}")
    where = choice(cfg.get("where", "pipeline"), "augment.where", WHERE)
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
        TRANSFORMS.entry(name, key=f"{key}.name")  # an unknown name: the registry's did-you-mean
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
