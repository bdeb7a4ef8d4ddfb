"""Typed schemas for the config groups that every run shares.

The composed YAML is merged over these dataclasses, so a typo'd key or a wrong type is reported
with its full key (`trainer.epocs`) before anything is built. Groups whose shape depends on the
chosen component (data source, model, task) are checked by that component's own schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnkit.errors import ConfigError


@dataclass
class OptimizerSchema:
    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    clipnorm: float | None = None
    schedule: str = "constant"
    warmup_epochs: int = 0
    momentum: float = 0.9
    nesterov: bool = False


@dataclass
class TrainerSchema:
    epochs: int = 10
    verbose: Any = "auto"
    steps_per_execution: int = 1
    jit_compile: Any = "auto"
    mixed_precision: Any = "auto"
    distribute: str = "auto"
    monitor: str = "val_loss"
    monitor_mode: str = "auto"
    restore_best: bool = True
    early_stopping_patience: int = 0
    reduce_lr_patience: int = 0
    tensorboard: bool = False


@dataclass
class SummarySchema:
    format: str = "table"


@dataclass
class RootSchema:
    name: str = "default"
    seed: int = 42
    debug: bool = False
    data: Any = field(default_factory=dict)
    model: Any = field(default_factory=dict)
    task: Any = field(default_factory=dict)
    augment: Any = field(default_factory=dict)
    optimizer: OptimizerSchema = field(default_factory=OptimizerSchema)
    trainer: TrainerSchema = field(default_factory=TrainerSchema)
    summary: SummarySchema | None = None


def _require(condition: bool, key: str, expected: str, received: Any) -> None:
    if not condition:
        raise ConfigError(f"`{key}` must be {expected}. Received: {received!r}")


def validate(cfg: Any) -> Any:
    """Type-check `cfg` against the schemas and check ranges; returns the typed config."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        typed = OmegaConf.merge(OmegaConf.structured(RootSchema), cfg)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "config"
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"`{key}`: {msg}") from exc
    t, o = typed.trainer, typed.optimizer
    _require(t.epochs > 0, "trainer.epochs", "a positive integer", t.epochs)
    _require(t.steps_per_execution > 0, "trainer.steps_per_execution", "a positive integer",
             t.steps_per_execution)
    _require(o.lr > 0, "optimizer.lr", "a positive number", o.lr)
    _require(o.weight_decay >= 0, "optimizer.weight_decay", "zero or positive", o.weight_decay)
    _require(t.monitor_mode in ("auto", "min", "max"), "trainer.monitor_mode",
             "one of auto, min, max", t.monitor_mode)
    _require(t.distribute in ("auto", "none", "mirrored", "multi_worker"), "trainer.distribute",
             "one of auto, none, mirrored, multi_worker", t.distribute)
    for key in ("jit_compile", "mixed_precision", "verbose"):
        value = t[key]
        allowed = ("auto", True, False, 0, 1, 2) if key == "verbose" else ("auto", True, False)
        _require(value in allowed, f"trainer.{key}", " or ".join(map(str, allowed)), value)
    if typed.summary is not None:
        _require(typed.summary.format in ("table", "json"), "summary.format", "table or json",
                 typed.summary.format)
    data = typed.data
    _require(isinstance(data.get("batch_size"), int) and data.batch_size > 0, "data.batch_size",
             "a positive integer", data.get("batch_size"))
    return typed
