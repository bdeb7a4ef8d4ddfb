"""Two-phase fine-tuning of a backbone model (`model.fine_tune`).

Phase 1 trains what `model.freeze` leaves trainable (usually the head); phase 2 unfreezes the
backbone from a named layer on and continues at `lr_factor` times the learning rate. Changing
`trainable` only takes effect after a recompile, so the engine runs one `fit` per phase; they
share the callbacks and continue the epoch count, so history.csv and the checkpoints run on
unbroken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnkit.errors import ConfigError
from cnnkit.models.backbones import find_backbone, layer_index, set_trainable_from

FINE_TUNE_KEYS = ("unfreeze_from", "at_epoch", "lr_factor")


@dataclass(frozen=True)
class FineTunePlan:
    unfreeze_from: str
    at_epoch: int
    lr_factor: float


def fine_tune_plan(model_cfg: Any, epochs: int) -> FineTunePlan | None:
    """The checked `model.fine_tune` setting, or None when training is one phase."""
    spec = model_cfg.get("fine_tune")
    if not spec:
        return None
    unknown = [k for k in spec if k not in FINE_TUNE_KEYS]
    if unknown or not spec.get("unfreeze_from"):
        raise ConfigError(
            f"`model.fine_tune` must be {{unfreeze_from: <backbone layer>, at_epoch: N, "
            f"lr_factor: 0.1}}. Received: {dict(spec)}"
        )
    at_epoch = spec.get("at_epoch")
    if not isinstance(at_epoch, int) or not 0 < at_epoch < epochs:
        raise ConfigError(
            f"`model.fine_tune.at_epoch` must be an epoch between 1 and trainer.epochs - 1 "
            f"({epochs - 1}), so both phases run. Received: {at_epoch!r}"
        )
    lr_factor = spec.get("lr_factor", 0.1)
    if not isinstance(lr_factor, int | float) or not lr_factor > 0:
        raise ConfigError(
            f"`model.fine_tune.lr_factor` must be a positive number. Received: {lr_factor!r}"
        )
    return FineTunePlan(str(spec.unfreeze_from), at_epoch, float(lr_factor))


def scaled_optimizer(opt_cfg: Any, factor: float) -> Any:
    """A copy of `optimizer` with its learning rate multiplied by `factor`."""
    from omegaconf import OmegaConf

    scaled = OmegaConf.create(OmegaConf.to_container(opt_cfg, resolve=True))
    scaled.lr = float(opt_cfg.lr) * factor
    return scaled


@dataclass(frozen=True)
class Phase:
    """Epochs [start, end) trained with one compiled optimizer."""

    start: int
    end: int
    optimizer: Any  # the optimizer config of this phase
    unfreeze: FineTunePlan | None = None  # phase 2: unfreeze the backbone before compiling


def training_phases(cfg: Any) -> list[Phase]:
    """One phase, or two split at `model.fine_tune.at_epoch` (the second at lr x lr_factor)."""
    epochs = int(cfg.trainer.epochs)
    plan = fine_tune_plan(cfg.model, epochs)
    if plan is None:
        return [Phase(0, epochs, cfg.optimizer)]
    return [Phase(0, plan.at_epoch, cfg.optimizer),
            Phase(plan.at_epoch, epochs, scaled_optimizer(cfg.optimizer, plan.lr_factor), plan)]


def unfreeze(model: Any, plan: FineTunePlan) -> None:
    """Make the backbone trainable from `plan.unfreeze_from` on (takes effect on recompile)."""
    backbone = find_backbone(model)
    set_trainable_from(backbone, layer_index(backbone, plan.unfreeze_from,
                                             "model.fine_tune.unfreeze_from"))
