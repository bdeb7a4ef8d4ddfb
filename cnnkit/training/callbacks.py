"""Callbacks of a run. Each one whose decisions depend on past epochs keeps that memory in
`state()` / `restore(state)`, so a resumed run decides exactly as an uninterrupted one would
(Keras' own EarlyStopping and ReduceLROnPlateau restart their counters in `on_train_begin`)."""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keras

from cnnkit.errors import ConfigError, did_you_mean
from cnnkit.io import rundir
from cnnkit.training.interrupts import hold, release
from cnnkit.training.state import TrainingState, save_state


class Resumable(keras.callbacks.Callback):
    """A callback with memory across epochs, saved with the run's state every epoch."""

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class Tracker(Resumable):
    """Best value of `monitor` so far; `min_delta` is the least change that counts."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        super().__init__()
        self.monitor, self.mode, self.min_delta = monitor, mode, float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None

    def value(self, logs: dict[str, Any] | None) -> float | None:
        value = (logs or {}).get(self.monitor)
        return None if value is None or math.isnan(float(value)) else float(value)

    def improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, epoch: int, logs: dict[str, Any] | None) -> bool:
        """Record this epoch's value; True when it is the new best."""
        value = self.value(logs)
        if value is None or not self.improved(value):
            return False
        self.best, self.best_epoch = value, epoch
        return True

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}


class BestModelCheckpoint(Tracker):
    """Saves the whole model at its best epoch (by `monitor`) to checkpoints/best.keras."""

    def __init__(self, path: Path, monitor: str, mode: str) -> None:
        super().__init__(monitor, mode)
        self.path = Path(path)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.update(epoch, logs):
            with ema_weights(self.model):
                rundir.save_model(self.model, self.path)


class PatientTracker(Tracker):
    """A tracker that counts the epochs since its last improvement, up to `patience`."""

    def __init__(self, monitor: str, mode: str, patience: int, min_delta: float) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = int(patience)
        self.wait = 0

    def out_of_patience(self, epoch: int, logs: dict[str, Any] | None) -> bool:
        """Record this epoch; True when `patience` epochs have passed without improvement."""
        if self.update(epoch, logs):
            self.wait = 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def state(self) -> dict[str, Any]:
        return {**super().state(), "wait": self.wait}


class EarlyStop(PatientTracker):
    """Stops after `patience` epochs without an improvement of at least `min_delta`."""

    def __init__(self, monitor: str, mode: str, patience: int, min_delta: float) -> None:
        super().__init__(monitor, mode, patience, min_delta)
        self.stopped = False

    reason = "early_stopping"  # what metrics.json and the saved state call this stop

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.out_of_patience(epoch, logs):
            self.stopped = True
            self.model.stop_training = True

    def state(self) -> dict[str, Any]:
        return {**super().state(), "stopped": self.stopped}


class Plateau(PatientTracker):
    """Multiplies the learning rate by `factor` after `patience` epochs without improvement."""

    def __init__(self, monitor: str, mode: str, patience: int, factor: float,
                 min_lr: float = 0.0) -> None:
        super().__init__(monitor, mode, patience, 1e-4)
        self.factor, self.min_lr = float(factor), float(min_lr)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.out_of_patience(epoch, logs):
            self.wait = 0
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            self.model.optimizer.learning_rate = max(lr * self.factor, self.min_lr)


class RequireLogged(keras.callbacks.Callback):
    """Fails at the end of the first epoch, not after the last, when a metric the run is told
    to watch (`trainer.monitor`, `trainer.early_stopping_monitor`) is not logged."""

    def __init__(self, keys: dict[str, str]) -> None:
        super().__init__()
        self.keys = keys  # config key -> metric name

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logged = list(logs or {})
        for key, name in self.keys.items():
            if name not in logged:
                raise ConfigError(
                    f"`{key}` names a metric training does not log. Received: {name!r}."
                    f"{did_you_mean(name, logged)} Expected one of: {', '.join(logged)}")


class HistoryWriter(Resumable):
    """Keeps every epoch's logs (resumed epochs included) and rewrites history.csv after each,
    so a crashed run still has its curves."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        if "learning_rate" not in row:
            row["learning_rate"] = current_lr(self.model)
        self.rows = [r for r in self.rows if r["epoch"] < epoch + 1] + [row]
        columns = list(dict.fromkeys(k for r in self.rows for k in r))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(self.rows)
        rundir.write_text(self.path, buffer.getvalue())

    def state(self) -> dict[str, Any]:
        return {"rows": self.rows}


class TimeBudget(keras.callbacks.Callback):
    """Stops after the epoch at whose end the next one would overrun `seconds` (this process's
    wall clock since the fit began), so everything is saved before the budget runs out. Not
    resumable on purpose: resuming a run stopped by its budget trains on with a fresh budget."""

    reason = "max_time"

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = float(seconds)  # a resumed run gets the budget afresh
        self.started = time.monotonic()
        self.epochs_timed = 0
        self.stopped = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.started = time.monotonic()
        self.epochs_timed = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epochs_timed += 1
        elapsed = time.monotonic() - self.started
        if elapsed + elapsed / self.epochs_timed > self.seconds:
            self.stopped = True
            self.model.stop_training = True


class ReseedLayers(keras.callbacks.Callback):
    """Sets every layer's random stream (Dropout, in-model augmentation) from (seed, epoch) at
    the start of each epoch: the streams' positions are not saved with the weights, so this is
    what makes a resumed epoch draw the same masks as the uninterrupted one."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = int(seed)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        import numpy as np

        for index, generator in enumerate(seed_generators(self.model)):
            value = np.asarray([(self.seed * 1_000_003 + epoch) % (2**31 - 1), index + 1],
                               generator.state.dtype)
            generator.state.assign(value)


def seed_generators(model: Any) -> list[Any]:
    """The SeedGenerators of every layer of `model`, in a fixed order."""
    return [g for layer in model._flatten_layers(include_self=False, recursive=True)
            for g in getattr(layer, "_seed_generators", [])]


def has_ema(model: Any) -> bool:
    return bool(getattr(model.optimizer, "use_ema", False)) and hasattr(
        model.optimizer, "_model_variables_moving_average")


def _swap_ema(model: Any) -> None:
    """Exchange the weights and their moving averages exactly (copies, no arithmetic)."""
    optimizer = model.optimizer
    for var, average in zip(optimizer._trainable_variables,
                            optimizer._model_variables_moving_average, strict=True):
        value = keras.ops.convert_to_numpy(var)
        var.assign(average)
        average.assign(value)


@contextmanager
def ema_weights(model: Any) -> Iterator[None]:
    """The model holds its EMA weights inside the block (no-op without `trainer.ema`)."""
    swap = has_ema(model)
    if swap:
        _swap_ema(model)
    try:
        yield
    finally:
        if swap:
            _swap_ema(model)


class ValidateOnEma(keras.callbacks.Callback):
    """Validation during fit scores the EMA weights, which are what the run keeps."""

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if has_ema(self.model):
            _swap_ema(self.model)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if has_ema(self.model):
            _swap_ema(self.model)


def current_lr(model: Any) -> float:
    """The learning rate of the last step taken (a schedule's value at that step, not at the
    next one), so history.csv's `learning_rate` is the rate the epoch ended with."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    try:
        rate = getattr(optimizer, "_learning_rate", None)
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
            # `_iterations` counts batches, as schedules see them (`iterations` counts updates)
            step = max(int(keras.ops.convert_to_numpy(optimizer._iterations)) - 1, 0)
            return float(keras.ops.convert_to_numpy(rate(step)))
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError, AttributeError):
        return float("nan")


def stop_reason(callbacks: list[Any]) -> str | None:
    """Why training stopped before its last epoch, if a callback stopped it."""
    return next((c.reason for c in callbacks if getattr(c, "stopped", False)), None)


class HoldInterrupts(keras.callbacks.Callback):
    """Runs first at each epoch's end: an interrupt then waits until `StateSaver` (last) has
    saved the epoch. Without it, a stop between history.csv's new row and the saved state left a
    first epoch with no state: the run looked failed and its folder was removed."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        hold()


class StateSaver(keras.callbacks.Callback):
    """Saves the complete training state at the end of every epoch; must run last, after every
    callback whose memory it saves has seen the epoch (and ends `HoldInterrupts`' hold)."""

    def __init__(self, run_path: Path, callbacks: list[Any], phase: int = 0) -> None:
        super().__init__()
        self.run_path = Path(run_path)
        self.callbacks = named_callbacks(callbacks)
        self.phase = phase

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        try:
            states = {name: c.state() for name, c in self.callbacks.items()}
            # only a final stop is saved: a run stopped by its time budget resumes training
            save_state(self.run_path, self.model, TrainingState(
                epoch + 1, self.phase, callbacks=states,
                stopped=stop_reason(list(self.callbacks.values()))))
        finally:
            release()


def named_callbacks(callbacks: list[Any]) -> dict[str, Resumable]:
    return {type(c).__name__: c for c in callbacks if isinstance(c, Resumable)}


def restore_callbacks(state: TrainingState | None, callbacks: list[Any]) -> None:
    """Give each resumable callback the memory it had when the state was saved."""
    if state is None:
        return
    for name, callback in named_callbacks(callbacks).items():
        if name in state.callbacks:
            callback.restore(state.callbacks[name])
