"""One training run's life: build, compile, fit (one or two phases), checkpoint, resume, restore
the best epoch, finish. `cnnkit train` only wires the config and the run directory to `train`.

Resuming is exact: after every epoch `StateSaver` writes the weights with every optimizer
variable and each resumable callback's memory; each epoch's data order and augmentation come
from (seed, epoch) (`PreparedData.training_stream`) and the layers' random streams are reset
from (seed, epoch) at its start (`ReseedLayers`). An epoch interrupted half-way is rerun whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnkit.data.build import PreparedData, array_input_shape, prepare_data
from cnnkit.data.fingerprint import fingerprint
from cnnkit.data.input_size import describe_input
from cnnkit.data.sources import load_source
from cnnkit.errors import CnnkitError, ConfigError
from cnnkit.io import manifest, rundir
from cnnkit.io.evaluation import evaluate_split
from cnnkit.io.run_plots import plot_history
from cnnkit.models.build import align_data_normalize, build_model
from cnnkit.models.summary import summarize
from cnnkit.tasks import get_task
from cnnkit.training import callbacks as cb
from cnnkit.training.compile import build_optimizer
from cnnkit.training.distribute import global_batch_size, scaled_lr
from cnnkit.training.finetune import Phase, training_phases, unfreeze
from cnnkit.training.interrupts import interrupts_as_keyboard_interrupt
from cnnkit.training.loggers import build_loggers, finish_loggers
from cnnkit.training.replicas import replica_callbacks
from cnnkit.training.rules import duration_seconds, monitor_mode
from cnnkit.training.samples import task_callbacks
from cnnkit.training.state import TrainingState, read_state
from cnnkit.training.strategy import (
    DevicePolicy,
    build_policy,
    intra_op_threads,
    multi_worker,
    multi_worker_requested,
    set_intra_op_threads,
    small_step,
    steps_per_execution,
)


class TrainingInterrupted(CnnkitError):
    """Ctrl-C or SIGTERM: what was saved and the command that continues."""

    exit_code = 130


@dataclass
class RunCallbacks:
    """The callbacks of a run, with the ones the engine reads back afterwards named."""

    history: cb.HistoryWriter
    checkpoint: cb.BestModelCheckpoint
    all: list[Any] = field(default_factory=list)  # for `model.fit`, StateSaver last


def build_callbacks(run_path: Path, cfg: Any, monitor: str, extra: list[Any] = (),
                    first: list[Any] = ()) -> RunCallbacks:
    """The run's callbacks, in the order their decisions depend on one another; `extra` (loggers)
    see each epoch's logs after the checkpoint and before the state is saved; `first` (the
    strategy's `replica_callbacks`) come before anything that reads or saves the model."""
    trainer = cfg.trainer
    mode = monitor_mode(monitor, str(trainer.monitor_mode))
    history = cb.HistoryWriter(run_path / rundir.HISTORY)
    checkpoint = cb.BestModelCheckpoint(run_path / rundir.BEST_CHECKPOINT, monitor, mode)
    watched = {"trainer.monitor": monitor}
    callbacks: list[Any] = [cb.HoldInterrupts(), *first, cb.ReseedLayers(int(cfg.seed))]
    if trainer.get("ema"):
        callbacks.append(cb.ValidateOnEma())
    callbacks += [cb.RequireLogged(watched), history, checkpoint]
    if trainer.early_stopping_patience > 0:
        stop_on = str(trainer.get("early_stopping_monitor") or monitor)
        watched["trainer.early_stopping_monitor"] = stop_on
        callbacks.append(cb.EarlyStop(
            stop_on, monitor_mode(stop_on, str(trainer.monitor_mode)),
            int(trainer.early_stopping_patience), float(trainer.get("early_stopping_min_delta", 0))))
    if trainer.reduce_lr_patience > 0:
        callbacks.append(cb.Plateau(monitor, mode, int(trainer.reduce_lr_patience),
                                    float(trainer.get("reduce_lr_factor", 0.5))))
    if trainer.get("max_time") is not None:
        callbacks.append(cb.TimeBudget(duration_seconds(trainer.max_time, "trainer.max_time")))
    callbacks += list(extra)
    callbacks.append(cb.StateSaver(run_path, callbacks))
    return RunCallbacks(history, checkpoint, callbacks)


def _monitor(cfg: Any, has_val: bool) -> str:
    monitor = str(cfg.trainer.monitor)
    if monitor.startswith("val_") and not has_val:
        return monitor[len("val_"):]
    return monitor


def train(cfg: Any, run_path: Path, out: Any, resume: bool = False,
          loggers: list[Any] = ()) -> dict[str, Any]:
    """Train (or, with `resume`, continue) the configured run in `run_path`; returns the
    metrics of the chosen epoch (also written to metrics.json). `loggers`: more callbacks
    beside the configured TensorBoard/MLflow ones."""
    run_path = Path(run_path)
    logging = build_loggers(run_path, cfg, resume=resume)
    engine = Engine(cfg, run_path, out, resume, [*logging, *loggers])
    status = "failed"
    try:
        with interrupts_as_keyboard_interrupt():
            engine.prepare()
            engine.fit()
        metrics = engine.finish()
        status = "completed"
        return metrics
    except KeyboardInterrupt as interrupt:
        status = "interrupted"
        saved = read_state(run_path)
        if saved is None:
            raise TrainingInterrupted("interrupted before the first epoch ended: nothing to "
                                      "resume") from interrupt
        raise TrainingInterrupted(
            f"interrupted after {saved.epoch} of {int(cfg.trainer.epochs)} epochs, all saved in "
            f"{run_path}. Continue with: cnnkit train resume={run_path}") from interrupt
    finally:
        manifest.finish(run_path, status)  # before the loggers upload it
        finish_loggers(logging, status)


@dataclass
class Engine:
    """Everything one run holds between building and finishing."""

    cfg: Any
    run_path: Path
    out: Any  # a rich console
    resume: bool = False
    loggers: list[Any] = field(default_factory=list)

    def prepare(self) -> None:
        """Seeds, device policy, task, data, the completed model config and the saved state."""
        import keras
        from omegaconf import OmegaConf

        from cnnkit.tasks.model_config import complete_model_config

        cfg = self.cfg
        # the source first: an in-memory one gives the input size that trainer.threads=auto
        # needs before TensorFlow's first op fixes its thread pools. Not under a cluster: a
        # tf.data source would start TensorFlow before MultiWorkerMirroredStrategy, which must
        # come first
        source = None if multi_worker_requested(str(cfg.trainer.distribute)) else load_source(cfg.data)
        shape = cfg.model.get("input_shape") or (source and array_input_shape(source, cfg.data))
        small = small_step(cfg.data.batch_size, shape)
        threads = set_intra_op_threads(intra_op_threads(cfg.trainer.threads, small),
                                       explicit=cfg.trainer.threads != "auto")
        keras.utils.set_random_seed(int(cfg.seed))
        if cfg.trainer.get("deterministic"):
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
        self.policy: DevicePolicy = build_policy(cfg.trainer, threads, small)
        self.state: TrainingState | None = read_state(self.run_path) if self.resume else None
        start = self.state.epoch if self.state else 0
        verb = f"resuming after epoch {start}" if self.resume else "cnnkit train"
        self.out.print(f"[bold]{verb}[/bold] → {self.run_path}\n  device: {self.policy.describe()}")
        self.task = get_task(cfg.task, cfg)
        if note := align_data_normalize(cfg):
            self.out.print(f"  {note}")
        self.data: PreparedData = prepare_data(cfg, self.task.target_kind,
                                               input_shape=cfg.model.get("input_shape"),
                                               source=source)
        self.out.print(f"  data: {describe_input(self.data.source, self.data.preprocessing)}")
        replicas = self.policy.strategy.num_replicas_in_sync
        batch = global_batch_size(cfg.data.batch_size, replicas, cfg.trainer.batch_per_replica)
        self.data.data_cfg = OmegaConf.merge(self.data.data_cfg, {"batch_size": batch})
        if replicas > 1:
            rule = str(cfg.trainer.lr_scaling)
            self.out.print(f"  batch {batch} in all, {batch // replicas} per replica; optimizer.lr "
                           f"{scaled_lr(float(cfg.optimizer.lr), replicas, rule):g} "
                           f"(trainer.lr_scaling={rule})")
        manifest.write_manifest(self.run_path, cfg, self.policy.describe(),
                                fingerprint(self.data.source))
        prep = self.data.preprocessing
        complete_model_config(cfg, self.task, prep.target_shape, prep.class_names)
        self.task.fit(self.data)  # e.g. regression target statistics, before the pipelines
        missing = [s for s in cfg.trainer.get("evaluate_on") or [] if not self.data.has_split(s)]
        if missing:
            raise ConfigError(
                f"`trainer.evaluate_on` names splits the data do not have. Received: {missing}. "
                f"Expected some of: {', '.join(self.data.source.splits)}")
        self.has_val = self.data.has_split("val")
        self.monitor = _monitor(cfg, self.has_val)
        rundir.write_text(self.run_path / rundir.CONFIG, OmegaConf.to_yaml(cfg, resolve=True))
        rundir.write_json(self.run_path / rundir.PREPROCESSING, prep.to_dict())
        rundir.write_task_state(self.run_path, self.task.state)
        self.callbacks = build_callbacks(self.run_path, cfg, self.monitor,
                                         [*task_callbacks(self.run_path, self.task), *self.loggers],
                                         first=replica_callbacks(self.policy.strategy))
        cb.restore_callbacks(self.state, self.callbacks.all)
        with self.policy.strategy.scope():
            self.model = build_model(cfg.model)

    def _compile(self, phase: Phase, steps: int) -> None:
        from omegaconf import OmegaConf

        cfg = self.cfg
        lr = scaled_lr(float(phase.optimizer.lr), self.policy.strategy.num_replicas_in_sync,
                       str(cfg.trainer.lr_scaling))
        with self.policy.strategy.scope():
            self.model.compile(
                optimizer=build_optimizer(OmegaConf.merge(phase.optimizer, {"lr": lr}),
                                          cfg.trainer, steps, phase.end - phase.start),
                loss=self.task.loss(self.model),
                metrics=self.task.metrics(self.model),
                jit_compile=self.policy.jit_compile,
                steps_per_execution=self._steps_per_execution(steps),
            )

    def _steps_per_execution(self, steps: int) -> int:
        """`auto` runs one step per call across machines: Keras' multi-step train function
        fails under MultiWorkerMirroredStrategy (the keras#20585 shim covers single steps)."""
        value = self.cfg.trainer.steps_per_execution
        if value == "auto" and multi_worker(self.policy.strategy):
            return 1
        return steps_per_execution(value, summarize(self.model)["flops"],
                                   int(self.data.data_cfg.batch_size), steps)

    def _compile_for_saving(self) -> None:
        """model.keras loads with plain `keras.models.load_model` too: a learning-rate schedule
        of cnnkit's own would need cnnkit imported, so the saved optimizer is the same optimizer
        at its final learning rate, with fresh slots (resuming reads checkpoints/, not this)."""
        import keras

        optimizer = self.model.optimizer
        inner = getattr(optimizer, "inner_optimizer", optimizer)  # mixed precision's wrapper
        if not isinstance(inner.learning_rate, keras.optimizers.schedules.LearningRateSchedule) \
                and not isinstance(getattr(inner, "_learning_rate", None),
                                   keras.optimizers.schedules.LearningRateSchedule):
            return
        config = {**inner.get_config(), "learning_rate": cb.current_lr(self.model)}
        plain = type(inner).from_config(config)
        if inner is not optimizer:
            plain = keras.optimizers.LossScaleOptimizer(plain)
        with self.policy.strategy.scope():
            self.model.compile(optimizer=plain, loss=self.task.loss(self.model),
                               metrics=self.task.metrics(self.model),
                               jit_compile=self.policy.jit_compile)
            plain.build(self.model.trainable_variables)

    def fit(self) -> None:
        """Every phase's remaining epochs, unless the saved state says training had ended."""
        if self.state is not None and self.state.stopped:
            self.out.print(f"  training had already stopped ({self.state.stopped}); finishing")
            return
        start = self.state.epoch if self.state else 0
        val = self.data.dataset("val", target_fn=self.task.target_fn()) if self.has_val else None
        saver = self.callbacks.all[-1]
        for index, phase in enumerate(training_phases(self.cfg)):
            if phase.end <= start:
                continue
            if phase.unfreeze is not None:
                unfreeze(self.model, phase.unfreeze)
            initial = max(start, phase.start)
            stream, steps = self.data.training_stream(self.task.target_fn(), initial)
            self._compile(phase, steps)
            if self.state is not None and initial == start:
                with self.policy.strategy.scope():  # builds the optimizer's variables
                    self.state.load_into(self.run_path, self.model, index)
            saver.phase = index
            self.model.fit(stream, epochs=phase.end, initial_epoch=initial, steps_per_epoch=steps,
                           validation_data=val, callbacks=self.callbacks.all,
                           verbose=_verbosity(self.cfg.trainer.verbose), shuffle=False,
                           **self.task.fit_options())
            if self.model.stop_training:
                break

    def finish(self) -> dict[str, Any]:
        """Restore the best epoch, save model.keras and metrics.json, evaluate if asked."""
        import keras

        rows = self.callbacks.history.rows  # RequireLogged checked the monitor is in them
        checkpoint = self.callbacks.checkpoint
        best_path = self.run_path / rundir.BEST_CHECKPOINT
        chosen = len(rows) - 1
        if self.cfg.trainer.restore_best and checkpoint.best_epoch is not None and best_path.is_file():
            self.model.set_weights(keras.models.load_model(best_path, compile=False).get_weights())
            chosen = next(i for i, r in enumerate(rows) if r["epoch"] == checkpoint.best_epoch + 1)
        self._compile_for_saving()
        rundir.save_model(self.model, self.run_path / rundir.MODEL)
        metrics: dict[str, Any] = {k: float(v) for k, v in rows[chosen].items() if k != "epoch"}
        metrics.update(epoch=int(rows[chosen]["epoch"]), epochs_run=len(rows), monitor=self.monitor)
        if stopped := cb.stop_reason(self.callbacks.all) or (self.state and self.state.stopped):
            metrics["stopped"] = stopped
        rundir.write_json(self.run_path / rundir.METRICS, metrics)
        plot_history(rows, self.run_path / rundir.PLOTS, metrics["epoch"])
        print_final(self.out, metrics, self.run_path)
        for split in self.cfg.trainer.get("evaluate_on") or []:
            evaluate_split(self.model, self.data, self.task, str(split), self.run_path, self.out)
        return metrics


def _verbosity(value: Any) -> int:
    import sys

    if value == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(value)


def print_final(out: Any, metrics: dict[str, Any], run_path: Path) -> None:
    from rich.table import Table

    table = Table(title=f"Epoch {metrics['epoch']}/{metrics['epochs_run']} (best {metrics['monitor']})")
    table.add_column("metric")
    table.add_column("train", justify="right")
    table.add_column("val", justify="right")
    for key, value in metrics.items():
        if key.startswith("val_") or not isinstance(value, float) or key == "learning_rate":
            continue
        val = metrics.get(f"val_{key}")
        table.add_row(key, f"{value:.4f}", f"{val:.4f}" if val is not None else "-")
    out.print(table)
    out.print(f"Run directory: {run_path}")
