"""Learning-rate schedules (`optimizer.schedule`): one formula each, and the checks of their keys.

A schedule is the factor of `optimizer.lr` at a training step, written with `keras.ops` so the
optimizer evaluates it inside the compiled step. Every length in the config is in epochs and
counts from the start of the run (`step / steps_per_epoch` is the epoch, fractional between
boundaries); the optional linear warm-up replaces the first `warmup_epochs` of any schedule by a
ramp from `lr * warmup_start_ratio` to the value the schedule has where warm-up ends, so the
rate never jumps. The Keras object that evaluates them is `cnnkit.training.lr_schedule`; this
module is free of TensorFlow until a formula runs, so the validation pass can import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cnnkit.errors import ConfigError
from cnnkit.lazy import lazy
from cnnkit.registry import Registry

ops = lazy("keras.ops")

#: A formula is `factor(step, run, params) -> tensor`, the multiple of `optimizer.lr` at `step`.
Formula = Callable[[Any, "Run", dict[str, Any]], Any]


@dataclass(frozen=True)
class Run:
    """The clock a schedule runs on: batches per epoch (Keras' step counter counts batches, also
    under gradient accumulation) and the epochs of the whole run."""

    steps_per_epoch: int
    epochs: int

    @property
    def steps(self) -> int:
        return self.steps_per_epoch * self.epochs


@dataclass(frozen=True)
class Schedule:
    formula: Formula
    keys: tuple[str, ...] = ()  # the `optimizer.*` keys it reads (all in OptimizerSchema)


#: `optimizer.schedule` -> its formula and the keys it reads.
SCHEDULES: Registry[Schedule] = Registry("learning-rate schedule", "optimizer.schedule")

DEFAULT_GAMMA = 0.1  # step and multistep, when `optimizer.gamma` is null (as PyTorch's StepLR)


def _register(name: str, *keys: str) -> Callable[[Formula], Formula]:
    def add(formula: Formula) -> Formula:
        SCHEDULES.register(name)(Schedule(formula, keys))
        return formula

    return add


def _epoch(step: Any, run: Run) -> Any:
    return step / float(run.steps_per_epoch)


def _passed(step: Any, run: Run, epochs: list[float]) -> Any:
    """How many of the epoch boundaries `epochs` the step has reached (0 before the first)."""
    if not epochs:
        return ops.zeros((), "float32")
    bounds = ops.convert_to_tensor([e * run.steps_per_epoch for e in epochs], "float32")
    return ops.sum(ops.cast(ops.greater_equal(step, bounds), "float32"))


def _half_cosine(fraction: Any) -> Any:
    """1 at fraction 0, 0 at fraction 1, along half a cosine; flat outside [0, 1]."""
    return 0.5 * (1.0 + ops.cos(math.pi * ops.clip(fraction, 0.0, 1.0)))


def _gamma(params: dict[str, Any]) -> float:
    return DEFAULT_GAMMA if params.get("gamma") is None else float(params["gamma"])


@_register("constant")
def _constant(step: Any, run: Run, params: dict[str, Any]) -> Any:
    return ops.ones_like(step)


@_register("step", "gamma", "step_epochs")
def _step(step: Any, run: Run, params: dict[str, Any]) -> Any:
    """× gamma at every `step_epochs` epochs."""
    drops = ops.floor(_epoch(step, run) / float(params["step_epochs"]))
    return ops.power(_gamma(params), drops)


@_register("multistep", "gamma", "milestones")
def _multistep(step: Any, run: Run, params: dict[str, Any]) -> Any:
    """× gamma at each epoch listed in `milestones`."""
    return ops.power(_gamma(params), _passed(step, run, [float(m) for m in params["milestones"]]))


@_register("exponential", "gamma")
def _exponential(step: Any, run: Run, params: dict[str, Any]) -> Any:
    """× gamma per epoch, smoothly (gamma ** fractional epoch)."""
    return ops.power(float(params["gamma"]), _epoch(step, run))


@_register("cosine", "min_lr_ratio")
def _cosine(step: Any, run: Run, params: dict[str, Any]) -> Any:
    """Half a cosine from lr down to `min_lr_ratio` × lr over the run; flat after it."""
    floor = float(params["min_lr_ratio"])
    return floor + (1.0 - floor) * _half_cosine(_epoch(step, run) / run.epochs)


def _restart_points(params: dict[str, Any], epochs: int) -> list[float]:
    """The epochs where SGDR restarts within a run of `epochs`: periods T0, T0·t_mul, ..."""
    starts, period = [], float(params["restart_epochs"])
    at = period
    while at < epochs:
        starts.append(at)
        period *= float(params["t_mul"])
        at += period
    return starts


@_register("cosine_restarts", "min_lr_ratio", "restart_epochs", "t_mul", "m_mul")
def _cosine_restarts(step: Any, run: Run, params: dict[str, Any]) -> Any:
    """SGDR (as keras' CosineDecayRestarts): cosine periods of `restart_epochs`, each `t_mul`
    times longer than the one before; above the floor, each peak is `m_mul` × the previous."""
    floor, first = float(params["min_lr_ratio"]), float(params["restart_epochs"])
    t_mul, m_mul = float(params["t_mul"]), float(params["m_mul"])
    restarts = _restart_points(params, run.epochs)
    starts = ops.convert_to_tensor([0.0, *restarts], "float32")
    periods = ops.convert_to_tensor([first * t_mul**i for i in range(len(restarts) + 1)], "float32")
    index = ops.cast(_passed(step, run, restarts), "int32")
    fraction = (_epoch(step, run) - ops.take(starts, index)) / ops.take(periods, index)
    peak = ops.power(m_mul, ops.cast(index, "float32"))
    return floor + (1.0 - floor) * peak * _half_cosine(fraction)


@_register("onecycle", "pct_start", "div_factor", "final_div_factor")
def _onecycle(step: Any, run: Run, params: dict[str, Any]) -> Any:
    """PyTorch's OneCycleLR (cosine, two phases): from lr/div_factor up to lr over the first
    `pct_start` of the steps, then down to lr/(div_factor·final_div_factor) at the last step."""
    start = 1.0 / float(params["div_factor"])
    end = start / float(params["final_div_factor"])
    peak_step = float(params["pct_start"]) * run.steps - 1.0  # PyTorch's end of phase one
    if peak_step <= 0:  # a run too short to climb: only the way down
        peak_step = 0.0
        up = ops.ones_like(step)
    else:
        up = 1.0 - (1.0 - start) * _half_cosine(step / peak_step)
    down_steps = max(run.steps - 1.0 - peak_step, 1.0)
    down = end + (1.0 - end) * _half_cosine((step - peak_step) / down_steps)
    return ops.where(step <= peak_step, up, down)


def run_defaults(values: dict[str, Any], epochs: int) -> dict[str, Any]:
    """`values` with the chosen schedule's unset keys derived from the run's length, so
    `optimizer.schedule=step` alone does something sensible: step every third of the epochs
    after warm-up, multistep at 50% and 75% of them, exponential down to 1% of the rate at the
    end, cosine_restarts' first period a quarter of them."""
    name, warmup = values.get("schedule"), int(values.get("warmup_epochs") or 0)
    span = max(1, epochs - warmup)
    filled = dict(values)
    if name == "step" and filled.get("step_epochs") is None:
        filled["step_epochs"] = max(1, span // 3)
    if name == "multistep" and not filled.get("milestones"):
        filled["milestones"] = sorted({warmup + round(span * f) for f in (0.5, 0.75)
                                       if warmup < warmup + round(span * f) < epochs}) or [warmup + 1]
    if name == "exponential" and filled.get("gamma") is None:
        filled["gamma"] = 0.01 ** (1.0 / span)
    if name == "cosine_restarts" and filled.get("restart_epochs") is None:
        filled["restart_epochs"] = max(1, span // 4)
    return filled


def check_schedule(values: dict[str, Any], epochs: int) -> None:
    """The keys the chosen schedule reads, against each other and the run's `epochs` (keys
    left unset get `run_defaults`, which always fit)."""
    name, warmup = values["schedule"], values["warmup_epochs"]
    if values["milestones"]:  # checked whatever the schedule: a typo there is still a typo
        _check_milestones(values["milestones"], warmup, epochs)
    for key in ("step_epochs", "restart_epochs"):
        if (key in SCHEDULES.get(name).keys and values[key] is not None
                and not warmup < values[key] < epochs):
            raise ConfigError(
                f"`optimizer.{key}` must be more than optimizer.warmup_epochs ({warmup}) and less "
                f"than trainer.epochs ({epochs}), so optimizer.schedule={name} changes the rate "
                f"after warm-up. Received: {values[key]}")


def _check_milestones(milestones: list[int], warmup: int, epochs: int) -> None:
    increasing = all(a < b for a, b in zip(milestones, milestones[1:], strict=False))
    if not increasing or milestones[0] <= warmup or milestones[-1] >= epochs:
        raise ConfigError(
            f"`optimizer.milestones` must be increasing epochs after optimizer.warmup_epochs "
            f"({warmup}) and before trainer.epochs ({epochs}). Received: {milestones}")
