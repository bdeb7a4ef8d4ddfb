"""Schemas of the keys every run shares: the top level, `trainer`, and the commands' own sections.

Groups whose keys depend on the chosen component (`data`, `model`, `task`, `optimizer`) take their
schema from that component's registry entry; see `cnnkit.config.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cnnkit.config.check import setting

#: the version of the config layout; `config.yaml` in a run directory records it, and
#: `cnnkit.config.migrate` upgrades older run configs to it
SCHEMA_VERSION = 2


@dataclass
class TrainerSchema:
    epochs: int = setting(10, min=1)
    verbose: Literal["auto"] | int = setting("auto", min=0, max=2)
    steps_per_execution: int = setting(1, min=1)
    jit_compile: Literal["auto"] | bool = "auto"
    mixed_precision: Literal["auto"] | bool = "auto"
    distribute: Literal["auto", "none", "mirrored", "multi_worker"] = "auto"
    monitor: str = "val_loss"
    monitor_mode: Literal["auto", "min", "max"] = "auto"
    restore_best: bool = True
    early_stopping_patience: int = setting(0, min=0)
    reduce_lr_patience: int = setting(0, min=0)
    tensorboard: bool = False


@dataclass
class AugmentSchema:
    """Each transform is checked by its own registry entry (`cnnkit.augment`)."""

    where: Literal["pipeline", "model"] = "pipeline"
    transforms: list[Any] = field(default_factory=list)


@dataclass
class SummarySchema:
    format: Literal["table", "json"] = "table"


@dataclass
class InspectSchema:
    output: str = "outputs/data/default/samples.png"
    num_samples: int = setting(16, min=1)


@dataclass
class RootSchema:
    """Top-level keys; `summary` and `inspect` belong to the commands of those names."""

    name: str = "default"
    seed: int = 42
    debug: bool = False
    schema_version: int = setting(SCHEMA_VERSION, min=1)
    summary: SummarySchema | None = None
    inspect: InspectSchema | None = None
