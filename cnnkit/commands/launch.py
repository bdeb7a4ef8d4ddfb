"""Hands `cnnkit train` to Hydra's own entry point, so -m sweeps, --cfg and run dirs just work.

Before Hydra runs, the config is composed and validated here (each value of a sweep too), so a
typo is one line and exit 2 — also under `--cfg job`, which would otherwise print a broken config
and exit 0 — and nothing of a run directory is created for a config that cannot train.
A multi-worker member other than the chief runs in a folder of its own (`commands.workers`).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from cnnkit.commands import sweeps
from cnnkit.commands.common import console, quiet_tensorflow, wants_debug
from cnnkit.commands.plan import plan_for, print_plan, save_plan
from cnnkit.commands.rundirs import (
    TrainOptions,
    changed_keys,
    check_target,
    refuse_changes,
    resolve_resume,
    take_options,
)
from cnnkit.commands.validation import validated
from cnnkit.commands.workers import worker_folder
from cnnkit.config.compose import CONFIG_MODULE, hydra_errors, translate_overrides
from cnnkit.errors import RunDirError
from cnnkit.io import rundir
from cnnkit.io.rundir import RunDir
from cnnkit.training.state import read_state

#: Hydra flags followed by a value (`--cfg job`), so that value is not taken for an override
FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name",
                    "-cn", "--config-dir", "-cd", "--experimental-rerun", "--shell-completion"}


def plain_overrides(overrides: list[str]) -> list[str]:
    """The overrides among Hydra's arguments (flags and their values left out)."""
    out, skip = [], False
    for arg in overrides:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in FLAGS_WITH_VALUE
        else:
            out.append(arg)
    return out


def sweep_variants(overrides: list[str]) -> list[list[str]]:
    """One override list per value of each sweep (`optimizer.lr=1e-2,1e-3`), others at their
    first value: enough to validate every value a multirun will use."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    with hydra_errors(overrides):
        parsed = OverridesParser.create().parse_overrides(overrides)
    first = []
    choices: list[tuple[int, list[str]]] = []
    for index, override in enumerate(parsed):
        if override.is_sweep_override():
            prefix = override.get_key_element()
            values = [f"{prefix}={v}" for v in sweeps.sweep_values(override)]
            first.append(values[0])
            choices.append((index, values))
        else:
            first.append(overrides[index])
    variants = [first]
    for index, values in choices:
        for value in values[1:]:
            variants.append([*first[:index], value, *first[index + 1:]])
    return variants


def _composed(overrides: list[str]) -> tuple[Any, Any, Path]:
    """The job config Hydra will compose for `overrides`, its `hydra.sweeper` node, and the run
    directory a single run would write."""
    from hydra import compose, initialize_config_module
    from omegaconf import open_dict

    with hydra_errors(overrides), initialize_config_module(
            config_module=CONFIG_MODULE, version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    sweeper, run_dir = cfg.hydra.sweeper, Path(str(cfg.hydra.run.dir))
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, sweeper, run_dir


def precheck(overrides: list[str]) -> tuple[Path, Any]:
    """Compose and validate what Hydra will run (each value of a sweep, both ends of an Optuna
    search interval), raising ConfigError before it starts; returns the run directory a single
    run would write and the first validated config."""
    plain = plain_overrides(overrides)
    variants = sweep_variants(plain)
    cfg, sweeper, run_dir = _composed(variants[0])
    sweeps.check_sweep(sweeper, cfg, overrides)
    checked = validated(cfg)
    space = translate_overrides(sweeps.search_space(sweeper))
    for variant in sweep_variants([*space, *plain]) if space else variants[1:]:
        validated(_composed(variant)[0])
    return run_dir, checked


def launch_train(args: list[str]) -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    debug = wants_debug(args)
    options, args = take_options(args)
    if options.resume:
        return resume_train(options, args, debug)
    overrides = translate_overrides(args)
    plan, overrides = plan_for(args, overrides, sweep_variants(plain_overrides(overrides))[0])
    run_dir, checked = precheck(overrides)
    if plan is not None:
        print_plan(plan, console())
    multirun = any(a in ("-m", "--multirun") for a in overrides)
    worker = worker_folder(str(checked.trainer.distribute))
    if worker is not None:
        overrides = worker.redirect(overrides)  # the chief's run directory is the chief's to check
    elif not multirun:
        check_target(run_dir, options.overwrite)

    @hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="train")
    def _train_job(cfg: Any) -> float | None:  # the sweeper's objective: the monitor's value
        run_path = Path(HydraConfig.get().runtime.output_dir)
        if options.overwrite:
            rundir.clear_run(run_path)
        if plan is not None:
            save_plan(plan, run_path)
        return _guarded(lambda: validated(cfg), run_path, debug)

    saved_argv = sys.argv
    sys.argv = ["cnnkit-train", *overrides]
    try:
        _train_job()
    finally:
        sys.argv = saved_argv
        if worker is not None:
            worker.remove()


def resume_train(options: TrainOptions, args: list[str], debug: bool) -> Any:
    """Continue a run in its own directory with its saved config (plus allowed changes)."""
    from hydra import compose, initialize_config_module

    from cnnkit.commands.common import apply_overrides

    runs_folder = Path(".")
    if options.resume == "last":
        with hydra_errors(args), initialize_config_module(config_module=CONFIG_MODULE,
                                                          version_base="1.3"):
            composed = compose(config_name="train", overrides=translate_overrides(
                [a for a in args if a.startswith(("conf=", "name="))]), return_hydra_config=True)
        runs_folder = Path(str(composed.hydra.run.dir)).parent
    path = resolve_resume(options.resume, runs_folder)
    saved = RunDir(path).load_config()
    wanted = apply_overrides(saved.copy(), [a for a in args if not a.startswith("debug=")])
    refuse_changes(changed_keys(saved, wanted), options.allow_changes, path)
    cfg = validated(wanted, saved=True)
    state = read_state(path)
    if state is None:
        raise RunDirError(f"`resume={path}`: the run saved no training state (it ended before its "
                          "first epoch). Start it again with overwrite=true")
    if state.stopped or state.epoch >= int(cfg.trainer.epochs):
        raise RunDirError(
            f"`resume={path}`: nothing to resume, the run trained {state.epoch} epochs"
            f"{f' and stopped ({state.stopped})' if state.stopped else ''}. Train it longer with "
            f"allow_changes=[trainer.epochs] trainer.epochs=N (now {int(cfg.trainer.epochs)})")
    worker = worker_folder(str(cfg.trainer.distribute))
    if worker is None:
        return _guarded(lambda: cfg, path, debug, resume=True)
    # the chief's saved state, copied before its first epoch can write (that needs this worker)
    shutil.copytree(path, worker.path, dirs_exist_ok=True)
    try:
        return _guarded(lambda: cfg, worker.path, debug, resume=True)
    finally:
        worker.remove()


def _guarded(config: Any, run_path: Path, debug: bool, resume: bool = False) -> Any:
    """Run training with user errors as one line and a run that fails before its first epoch
    ends leaving no folder behind."""
    fresh = not resume and rundir.run_status(run_path) == "new"
    try:
        cfg = config()  # fills the schemas' defaults; its checks passed before
        quiet_tensorflow(debug)
        from cnnkit.commands.train import run

        run(cfg, run_path, resume=resume)
        return sweeps.objective(run_path)  # what a sweeper optimises
    except BaseException as error:
        if fresh and read_state(run_path) is None:
            shutil.rmtree(run_path, ignore_errors=True)
        if isinstance(error, Exception):  # a run stops; a trial of a sweep is recorded as failed
            return sweeps.trial_failed(run_path, error, debug)
        raise
