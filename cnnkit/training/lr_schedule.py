"""The Keras learning-rate schedule that evaluates `optimizer.schedule` (with warm-up) per step.

It is registered serialisable, so a saved model.keras (or a checkpoint) reloads with its
optimizer: whatever loads one imports this module first. Keras calls it with the optimizer's
own step counter, which counts batches even under gradient accumulation (Keras 3.15:
`_get_current_learning_rate` passes `_iterations`, not the `iterations` of updates), so
`steps_per_epoch` is in batches and the epochs of the config stay epochs of data.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from cnnkit.training.schedules import SCHEDULES, Run, run_defaults


@keras.saving.register_keras_serializable(package="cnnkit")
class EpochSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`lr × SCHEDULES[schedule]` at epoch `start_epoch + step / steps_per_epoch` of a run of
    `epochs`, the first `warmup_epochs` replaced by a linear ramp from `lr × warmup_start_ratio`."""

    def __init__(self, schedule: str, lr: float, steps_per_epoch: int, epochs: int,
                 params: dict[str, Any] | None = None, warmup_epochs: int = 0,
                 warmup_start_ratio: float = 0.0, start_epoch: int = 0) -> None:
        self.schedule = schedule
        self.lr = float(lr)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)
        self.params = dict(params or {})
        self.warmup_epochs = int(warmup_epochs)
        self.warmup_start_ratio = float(warmup_start_ratio)
        self.start_epoch = int(start_epoch)
        self._run = Run(self.steps_per_epoch, self.epochs)
        self._formula = SCHEDULES.get(schedule).formula

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32") + float(self.start_epoch * self.steps_per_epoch)
        rate = self._formula(step, self._run, self.params)
        if self.warmup_epochs:
            end = float(self.warmup_epochs * self.steps_per_epoch)
            target = self._formula(ops.convert_to_tensor(end, "float32"), self._run, self.params)
            ramp = self.warmup_start_ratio + (target - self.warmup_start_ratio) * step / end
            rate = ops.where(step < end, ramp, rate)
        return self.lr * rate

    def get_config(self) -> dict[str, Any]:
        return {"schedule": self.schedule, "lr": self.lr, "steps_per_epoch": self.steps_per_epoch,
                "epochs": self.epochs, "params": self.params, "warmup_epochs": self.warmup_epochs,
                "warmup_start_ratio": self.warmup_start_ratio, "start_epoch": self.start_epoch}


def build_learning_rate(opt_cfg: Any, steps_per_epoch: int, epochs: int, start_epoch: int = 0
                        ) -> float | EpochSchedule:
    """What the optimizer gets as `learning_rate`: a plain float for a constant rate without
    warm-up (so `trainer.reduce_lr_patience` can lower it), else an `EpochSchedule`."""
    name = str(opt_cfg.schedule)
    warmup = int(opt_cfg.get("warmup_epochs") or 0)
    if name == "constant" and not warmup:
        return float(opt_cfg.lr)
    keys = SCHEDULES.get(name).keys
    given = {k: _plain(opt_cfg.get(k)) for k in (*keys, "schedule", "warmup_epochs")}
    filled = run_defaults(given, int(epochs))
    params = {k: filled[k] for k in keys}
    return EpochSchedule(name, float(opt_cfg.lr), max(1, int(steps_per_epoch)), int(epochs),
                         params=params, warmup_epochs=warmup,
                         warmup_start_ratio=float(opt_cfg.get("warmup_start_ratio") or 0.0),
                         start_epoch=start_epoch)


def _plain(value: Any) -> Any:
    """A config value (an OmegaConf list for `milestones`) as plain JSON-able Python."""
    from omegaconf import ListConfig, OmegaConf

    return OmegaConf.to_container(value) if isinstance(value, ListConfig) else value
