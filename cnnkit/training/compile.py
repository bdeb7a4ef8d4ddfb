"""Optimizers and learning-rate schedules, by registry name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnkit.config.check import setting
from cnnkit.errors import ConfigError
from cnnkit.registry import Registry

#: A learning-rate schedule is `build(lr, warmup_steps, total_steps) -> float | schedule`.
SCHEDULES: Registry[Any] = Registry("learning-rate schedule", "optimizer.schedule")


@SCHEDULES.register("constant")
def _constant(lr: float, warmup_steps: int, total_steps: int) -> Any:
    return lr


@SCHEDULES.register("cosine")
def _cosine(lr: float, warmup_steps: int, total_steps: int) -> Any:
    """Cosine decay to 0 over the run, after an optional linear warm-up from 0."""
    import keras

    if warmup_steps:
        return keras.optimizers.schedules.CosineDecay(
            0.0, total_steps, warmup_target=lr, warmup_steps=warmup_steps)
    return keras.optimizers.schedules.CosineDecay(lr, total_steps)


@dataclass
class OptimizerSchema:
    """conf/optimizer/*.yaml; every optimizer shares these keys."""

    name: str = "adam"
    lr: float = setting(1e-3, gt=0)
    weight_decay: float = setting(0.0, min=0)  # adam: > 0 switches to AdamW
    clipnorm: float | None = setting(None, gt=0)
    schedule: str = setting("constant", choices=SCHEDULES.list)
    warmup_epochs: int = setting(0, min=0)
    momentum: float = setting(0.9, min=0, lt=1)
    nesterov: bool = False


def check_optimizer(values: dict[str, Any], config: dict[str, Any]) -> None:
    """Combinations that would silently do something else than asked."""
    trainer = config.get("trainer") or {}
    if values["warmup_epochs"] and values["schedule"] == "constant":
        raise ConfigError(
            f"`optimizer.warmup_epochs={values['warmup_epochs']}` needs a schedule to warm up "
            "into; with optimizer.schedule=constant it would be ignored. Set "
            "optimizer.schedule=cosine or optimizer.warmup_epochs=0.")
    if trainer.get("reduce_lr_patience") and values["schedule"] != "constant":
        raise ConfigError(
            f"`trainer.reduce_lr_patience={trainer['reduce_lr_patience']}` lowers the learning "
            f"rate on a plateau, but optimizer.schedule={values['schedule']} already sets it every "
            "step. Use one: optimizer.schedule=constant, or trainer.reduce_lr_patience=0.")
    epochs = trainer.get("epochs")
    if epochs and values["warmup_epochs"] >= epochs:
        raise ConfigError(
            f"`optimizer.warmup_epochs` must be less than trainer.epochs ({epochs}). "
            f"Received: {values['warmup_epochs']}")


#: An optimizer is `build(opt_cfg, learning_rate) -> keras optimizer`.
OPTIMIZERS: Registry[Any] = Registry("optimizer", "optimizer.name")


def build_learning_rate(opt_cfg: Any, steps_per_epoch: int, epochs: int) -> Any:
    """A float or a Keras schedule (`optimizer.schedule`, with optional linear warm-up)."""
    warmup = int(opt_cfg.warmup_epochs) * steps_per_epoch
    total = max(1, epochs * steps_per_epoch - warmup)
    return SCHEDULES.get(str(opt_cfg.schedule))(float(opt_cfg.lr), warmup, total)


def build_optimizer(opt_cfg: Any, trainer_cfg: Any, steps_per_epoch: int, epochs: int) -> Any:
    """The configured optimizer; `trainer.ema` and `trainer.accumulate_steps` act through it."""
    common: dict[str, Any] = {"learning_rate": build_learning_rate(opt_cfg, steps_per_epoch, epochs)}
    if trainer_cfg.get("ema"):
        common.update(use_ema=True, ema_momentum=float(trainer_cfg.ema))
    if int(trainer_cfg.get("accumulate_steps", 1)) > 1:
        common["gradient_accumulation_steps"] = int(trainer_cfg.accumulate_steps)
    if opt_cfg.clipnorm:
        common["clipnorm"] = float(opt_cfg.clipnorm)
    return OPTIMIZERS.get(str(opt_cfg.name))(opt_cfg, common)


def _register(name: str) -> Any:
    return OPTIMIZERS.register(name, schema=OptimizerSchema, check=check_optimizer)


@_register("adam")
def _adam(opt_cfg: Any, common: dict[str, Any]) -> Any:
    import keras

    decay = float(opt_cfg.weight_decay)
    if decay:
        return keras.optimizers.AdamW(weight_decay=decay, **common)
    return keras.optimizers.Adam(**common)


@_register("adamw")
def _adamw(opt_cfg: Any, common: dict[str, Any]) -> Any:
    import keras

    return keras.optimizers.AdamW(weight_decay=float(opt_cfg.weight_decay) or 1e-4, **common)


@_register("sgd")
def _sgd(opt_cfg: Any, common: dict[str, Any]) -> Any:
    import keras

    return keras.optimizers.SGD(momentum=float(opt_cfg.momentum),
                                nesterov=bool(opt_cfg.get("nesterov", False)),
                                weight_decay=float(opt_cfg.weight_decay) or None, **common)


@_register("rmsprop")
def _rmsprop(opt_cfg: Any, common: dict[str, Any]) -> Any:
    import keras

    return keras.optimizers.RMSprop(momentum=float(opt_cfg.momentum),
                                    weight_decay=float(opt_cfg.weight_decay) or None, **common)
