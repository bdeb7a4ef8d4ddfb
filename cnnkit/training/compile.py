"""Optimizers and learning-rate schedules, by registry name."""

from __future__ import annotations

from typing import Any

from cnnkit.errors import ConfigError

SCHEDULES = ("constant", "cosine")


def build_learning_rate(opt_cfg: Any, steps_per_epoch: int, epochs: int) -> Any:
    """A float or a Keras schedule (cosine decay with optional linear warm-up)."""
    import keras

    lr = float(opt_cfg.lr)
    schedule = str(opt_cfg.schedule)
    if schedule not in SCHEDULES:
        raise ConfigError(
            f"`optimizer.schedule` must be one of {', '.join(SCHEDULES)}. Received: {schedule!r}"
        )
    if schedule == "constant":
        return lr
    warmup = int(opt_cfg.warmup_epochs) * steps_per_epoch
    total = max(1, epochs * steps_per_epoch - warmup)
    if warmup:
        return keras.optimizers.schedules.CosineDecay(
            0.0, total, warmup_target=lr, warmup_steps=warmup
        )
    return keras.optimizers.schedules.CosineDecay(lr, total)


def build_optimizer(opt_cfg: Any, steps_per_epoch: int, epochs: int) -> Any:
    import keras

    lr = build_learning_rate(opt_cfg, steps_per_epoch, epochs)
    common: dict[str, Any] = {"learning_rate": lr}
    if opt_cfg.clipnorm:
        common["clipnorm"] = float(opt_cfg.clipnorm)
    decay = float(opt_cfg.weight_decay)
    name = str(opt_cfg.name)
    if name == "adam":
        if decay:
            return keras.optimizers.AdamW(weight_decay=decay, **common)
        return keras.optimizers.Adam(**common)
    if name == "adamw":
        return keras.optimizers.AdamW(weight_decay=decay or 1e-4, **common)
    if name == "sgd":
        return keras.optimizers.SGD(momentum=float(opt_cfg.momentum),
                                    nesterov=bool(opt_cfg.get("nesterov", False)),
                                    weight_decay=decay or None, **common)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(momentum=float(opt_cfg.momentum) if opt_cfg.momentum else 0.0,
                                        weight_decay=decay or None, **common)
    raise ConfigError(
        f"`optimizer.name` must be one of adam, adamw, sgd, rmsprop. Received: {name!r}"
    )
