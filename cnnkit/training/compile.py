"""Optimizers by registry name (`optimizer.name`), with clipping, weight EMA and accumulation.

The learning rate they get is `optimizer.schedule`'s (`cnnkit.training.schedules`); the keys of
every schedule are in `OptimizerSchema`, so one group checks them all before TensorFlow loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnkit.config.check import setting
from cnnkit.errors import ConfigError
from cnnkit.registry import Registry
from cnnkit.training.ema import warm_up_ema
from cnnkit.training.schedules import SCHEDULES, check_schedule

CLIP_KEYS = ("clipnorm", "global_clipnorm", "clipvalue")


@dataclass
class OptimizerSchema:
    """conf/optimizer/*.yaml; every optimizer and schedule shares these keys."""

    name: str = "adam"
    lr: float = setting(1e-3, gt=0)
    weight_decay: float = setting(0.0, min=0)  # adam: > 0 switches to AdamW
    momentum: float = setting(0.9, min=0, lt=1)  # sgd, rmsprop
    nesterov: bool = False  # sgd
    beta_1: float = setting(0.9, min=0, lt=1)  # adam, adamw: GANs train with 0.5 (Radford et al.)
    beta_2: float = setting(0.999, min=0, lt=1)  # adam, adamw
    clipnorm: float | None = setting(None, gt=0)  # at most one of the three clipping keys
    global_clipnorm: float | None = setting(None, gt=0)
    clipvalue: float | None = setting(None, gt=0)
    schedule: str = setting("constant", choices=SCHEDULES.list)
    warmup_epochs: int = setting(0, min=0)
    warmup_start_ratio: float = setting(0.0, min=0, lt=1)
    gamma: float | None = setting(None, gt=0, lt=1)  # step, multistep (null: 0.1), exponential
    step_epochs: int | None = setting(None, min=1)  # step
    milestones: list[int] = setting(factory=list)  # multistep
    min_lr_ratio: float = setting(0.0, min=0, lt=1)  # cosine, cosine_restarts
    restart_epochs: int | None = setting(None, min=1)  # cosine_restarts
    t_mul: float = setting(2.0, min=1)  # cosine_restarts
    m_mul: float = setting(1.0, gt=0, max=1)  # cosine_restarts
    pct_start: float = setting(0.3, gt=0, lt=1)  # onecycle
    div_factor: float = setting(25.0, min=1)  # onecycle
    final_div_factor: float = setting(1e4, min=1)  # onecycle


def check_optimizer(values: dict[str, Any], config: dict[str, Any]) -> None:
    """Combinations that Keras would refuse late, or that would silently do something else."""
    trainer = config.get("trainer") or {}
    clips = [f"optimizer.{k}={values[k]}" for k in CLIP_KEYS if values[k] is not None]
    if len(clips) > 1:
        raise ConfigError(f"`{clips[0]}` and `{clips[1]}` both clip the gradients; Keras applies "
                          "one kind. Set one of optimizer.clipnorm, optimizer.global_clipnorm, "
                          "optimizer.clipvalue and leave the others null.")
    patience = trainer.get("reduce_lr_patience")
    if patience and values["schedule"] != "constant":
        raise ConfigError(
            f"`trainer.reduce_lr_patience={patience}` lowers the learning "
            f"rate on a plateau, but optimizer.schedule={values['schedule']} already sets it every "
            "step. Use one: optimizer.schedule=constant, or trainer.reduce_lr_patience=0.")
    if patience and values["warmup_epochs"]:
        raise ConfigError(
            f"`trainer.reduce_lr_patience={patience}` lowers the learning rate on a plateau, but "
            f"optimizer.warmup_epochs={values['warmup_epochs']} sets it every step while warming "
            "up. Use one: optimizer.warmup_epochs=0, or trainer.reduce_lr_patience=0.")
    epochs = trainer.get("epochs") or 1
    if values["warmup_epochs"] >= epochs:
        raise ConfigError(
            f"`optimizer.warmup_epochs` must be less than trainer.epochs ({epochs}). "
            f"Received: {values['warmup_epochs']}")
    check_schedule(values, epochs)


#: An optimizer is `build(opt_cfg, common) -> keras optimizer`; `common` holds the keyword
#: arguments every Keras optimizer takes (learning rate, clipping, EMA, accumulation).
OPTIMIZERS: Registry[Any] = Registry("optimizer", "optimizer.name")


def build_optimizer(opt_cfg: Any, trainer_cfg: Any, steps_per_epoch: int, epochs: int) -> Any:
    """The Keras optimizer that trains the last `epochs` epochs of the run.

    `epochs` is `trainer.epochs`, or the epochs left when fine-tuning recompiles: the schedule
    then continues at epoch `trainer.epochs - epochs` of the run instead of starting over, so a
    milestone or the end of a cosine stays where the config puts it. `steps_per_epoch` counts
    batches (Keras' schedules see batches, also under `trainer.accumulate_steps`).
    `trainer.ema` keeps an average of the weights that replaces them when `fit` ends."""
    from cnnkit.training.lr_schedule import build_learning_rate

    run_epochs = int(trainer_cfg.get("epochs") or epochs)
    common: dict[str, Any] = {"learning_rate": build_learning_rate(
        opt_cfg, steps_per_epoch, max(run_epochs, epochs), start_epoch=max(0, run_epochs - epochs))}
    common.update({k: float(opt_cfg[k]) for k in CLIP_KEYS if opt_cfg.get(k) is not None})
    accumulate = int(trainer_cfg.get("accumulate_steps") or 1)
    if accumulate > 1:
        common["gradient_accumulation_steps"] = accumulate
    if trainer_cfg.get("ema") is not None:
        # Keras updates the average at every batch, also the ones that only accumulate, so the
        # decay per batch is the root that gives `trainer.ema` per weight update.
        common.update(use_ema=True, ema_momentum=float(trainer_cfg.ema) ** (1.0 / accumulate))
    optimizer = OPTIMIZERS.get(str(opt_cfg.name))(opt_cfg, common)
    return warm_up_ema(optimizer) if common.get("use_ema") else optimizer


def _register(name: str) -> Any:
    return OPTIMIZERS.register(name, schema=OptimizerSchema, check=check_optimizer)


def _decay(opt_cfg: Any) -> float | None:
    return float(opt_cfg.weight_decay) or None


@_register("adam")
def _adam(opt_cfg: Any, common: dict[str, Any]) -> Any:
    import keras

    if _decay(opt_cfg):
        return keras.optimizers.AdamW(weight_decay=_decay(opt_cfg), **_betas(opt_cfg), **common)
    return keras.optimizers.Adam(**_betas(opt_cfg), **common)


def _betas(opt_cfg: Any) -> dict[str, float]:
    return {"beta_1": float(opt_cfg.get("beta_1", 0.9)), "beta_2": float(opt_cfg.get("beta_2", 0.999))}


@_register("adamw")
def _adamw(opt_cfg: Any, common: dict[str, Any]) -> Any:
    import keras

    return keras.optimizers.AdamW(weight_decay=float(opt_cfg.weight_decay), **_betas(opt_cfg),
                                  **common)


@_register("sgd")
def _sgd(opt_cfg: Any, common: dict[str, Any]) -> Any:
    import keras

    return keras.optimizers.SGD(momentum=float(opt_cfg.momentum),
                                nesterov=bool(opt_cfg.get("nesterov", False)),
                                weight_decay=_decay(opt_cfg), **common)


@_register("rmsprop")
def _rmsprop(opt_cfg: Any, common: dict[str, Any]) -> Any:
    import keras

    return keras.optimizers.RMSprop(momentum=float(opt_cfg.momentum),
                                    weight_decay=_decay(opt_cfg), **common)


@_register("lion")
def _lion(opt_cfg: Any, common: dict[str, Any]) -> Any:
    """Lion (Chen et al. 2023): sign updates; wants a ~10x smaller lr and larger decay than AdamW."""
    import keras

    return keras.optimizers.Lion(weight_decay=_decay(opt_cfg), **common)
