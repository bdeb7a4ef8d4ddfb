"""`cnnkit train`: data -> model -> fit -> run directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cnnkit.commands.common import complete_model_config, console
from cnnkit.data.build import prepare_data
from cnnkit.data.pipeline import endless_epochs
from cnnkit.errors import ConfigError
from cnnkit.io import rundir
from cnnkit.models.build import align_data_normalize, build_model
from cnnkit.tasks import get_task
from cnnkit.training.callbacks import build_callbacks
from cnnkit.training.compile import build_optimizer
from cnnkit.training.finetune import fit_in_phases
from cnnkit.training.strategy import build_policy


def _verbosity(value: Any) -> int:
    if value == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(value)


def _monitor(cfg: Any, has_val: bool) -> str:
    monitor = str(cfg.trainer.monitor)
    if monitor.startswith("val_") and not has_val:
        return monitor[len("val_"):]
    return monitor


def run(cfg: Any, run_path: Path) -> dict[str, Any]:
    """Train the configured model; everything lands in `run_path`."""
    import keras
    from omegaconf import OmegaConf

    keras.utils.set_random_seed(int(cfg.seed))
    policy = build_policy(cfg.trainer)
    out = console()
    out.print(f"[bold]cnnkit train[/bold] → {run_path}\n  device: {policy.describe()}")

    task = get_task(cfg.task, cfg)
    if note := align_data_normalize(cfg):
        out.print(f"  {note}")
    data = prepare_data(cfg, task.target_kind, input_shape=cfg.model.get("input_shape"))
    complete_model_config(cfg, task, data.preprocessing.target_shape, data.preprocessing.class_names)
    task.fit(data)  # e.g. regression target statistics, before the pipelines use them

    def compile_model(opt_cfg: Any, epochs: int) -> None:  # again when fine-tuning unfreezes
        model.compile(
            optimizer=build_optimizer(opt_cfg, cfg.trainer, steps, epochs),
            loss=task.loss(model),
            metrics=task.metrics(model),
            jit_compile=policy.jit_compile,
            steps_per_execution=int(cfg.trainer.steps_per_execution),
        )

    with policy.strategy.scope():
        model = build_model(cfg.model)
        train_ds, steps = endless_epochs(data.dataset("train", training=True,
                                                      target_fn=task.target_fn()))
        compile_model(cfg.optimizer, int(cfg.trainer.epochs))
    has_val = data.has_split("val")
    val_ds = data.dataset("val", target_fn=task.target_fn()) if has_val else None
    monitor = _monitor(cfg, has_val)

    rundir.write_text(run_path / rundir.CONFIG, OmegaConf.to_yaml(cfg, resolve=True))
    rundir.write_json(run_path / rundir.PREPROCESSING, data.preprocessing.to_dict())
    rundir.write_task_state(run_path, task.state)
    callbacks = build_callbacks(run_path, cfg.trainer, monitor)
    history = fit_in_phases(model, cfg, compile_model, policy.strategy, train_ds,
                            steps_per_epoch=steps, validation_data=val_ds, callbacks=callbacks.all,
                            verbose=_verbosity(cfg.trainer.verbose),
                            shuffle=False, **task.fit_options())  # the pipeline shuffles
    if monitor not in history.history:
        raise ConfigError(
            f"`trainer.monitor` names a metric training does not log. Received: {monitor!r}. "
            f"Expected one of: {', '.join(history.history)}"
        )
    checkpoint = callbacks.checkpoint
    best_path = run_path / rundir.BEST_CHECKPOINT
    if cfg.trainer.restore_best and checkpoint.best_epoch is not None and best_path.is_file():
        model.set_weights(keras.models.load_model(best_path).get_weights())
        chosen = checkpoint.best_epoch
    else:
        chosen = len(history.history[monitor]) - 1
    rundir.save_model(model, run_path / rundir.MODEL)
    metrics = {k: float(v[chosen]) for k, v in history.history.items()}
    metrics.update(epoch=chosen + 1, epochs_run=len(history.history[monitor]), monitor=monitor)
    rundir.write_json(run_path / rundir.METRICS, metrics)
    _print_final(out, metrics, run_path)
    return metrics


def _print_final(out: Any, metrics: dict[str, Any], run_path: Path) -> None:
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

