"""One trial of a Hydra multirun: what it gives back to the sweeper, and what precheck checks.

A trial returns its monitor's value: the float the Optuna sweeper optimises (the basic sweeper
ignores return values). A trial that fails is reported, recorded in its run directory and returns
None, so the sweep still runs its other trials and the table at its end shows it as failed;
otherwise Hydra's basic sweeper would stop at the first error with a traceback and no summary.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from cnnkit.commands.common import report_error, user_error
from cnnkit.errors import CnnkitError, ConfigError
from cnnkit.io import rundir

#: written into a trial's run directory when it fails: the error and the trial's overrides
FAILED = "failed.json"


def in_sweep() -> bool:
    """True inside a job of `cnnkit train -m` (not in a single run, nor in a resume)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def objective(run_path: Path) -> float:
    """The value of `trainer.monitor` at the chosen epoch, from the run's metrics.json."""
    metrics = json.loads((Path(run_path) / rundir.METRICS).read_text())
    return float(metrics[metrics["monitor"]])


def trial_failed(run_path: Path, error: Exception, debug: bool) -> None:
    """End a failed run: a single run stops (a user error: one line and its exit code; anything
    else: the traceback); a trial of a sweep is recorded as failed and gives None instead."""
    sweep = in_sweep()
    if not debug:
        error = user_error(error)  # type: ignore[assignment]
    if debug or not (sweep or isinstance(error, CnnkitError)):
        raise error
    if isinstance(error, CnnkitError):
        code = report_error("train", error)
        if not sweep:
            sys.exit(code)
    else:
        traceback.print_exception(error)
    from hydra.core.hydra_config import HydraConfig

    lines = str(error).strip().splitlines()
    rundir.write_json(Path(run_path) / FAILED, {
        "error": lines[0] if lines else type(error).__name__,
        "type": type(error).__name__,
        "overrides": list(HydraConfig.get().overrides.task),
    })


def sweep_values(override: Any) -> list[str]:
    """The values to validate of a sweep override: every choice or range value, an interval's
    two ends (the Optuna sweeper samples between them)."""
    from hydra.core.override_parser.types import IntervalSweep

    value = override.value()
    if isinstance(value, IntervalSweep):
        return [str(value.start), str(value.end)]
    return list(override.sweep_string_iterator())


def improves(monitor: str, mode: str) -> str:
    """`min` or `max`: how `monitor` improves (trainer.monitor_mode; auto: by its name)."""
    from cnnkit.training.rules import monitor_mode  # no Keras: the table's process stays light

    return monitor_mode(monitor, mode)


def _is_optuna(sweeper: Any) -> bool:
    return "optuna" in str(sweeper.get("_target_", ""))


def search_space(sweeper: Any) -> list[str]:
    """The Optuna sweeper's `hydra.sweeper.params` as sweep overrides, so that precheck validates
    every key and bound of the search space; [] for other sweepers."""
    if not _is_optuna(sweeper):
        return []
    return [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]


def check_sweep(sweeper: Any, cfg: Any, args: list[str]) -> None:
    """What the Optuna sweeper would otherwise get wrong, or fail on with a traceback: it is
    ignored without -m (one silent run with the config's own values), needs n_trials >= 1, and
    must minimise a monitor that improves downwards (val_loss), maximise one that improves
    upwards (val_accuracy): a wrong direction searches for the worst trial."""
    if not _is_optuna(sweeper):
        return
    if not any(a in ("-m", "--multirun", "--cfg", "-c", "--info", "-i")
               or a.startswith("hydra.mode=") for a in args):
        raise ConfigError("the Optuna sweeper (hparams_search=optuna) runs a search of many "
                          "trials: add -m, e.g. cnnkit train -m hparams_search=optuna")
    n_trials = sweeper.get("n_trials")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"`hydra.sweeper.n_trials` must be an integer of at least 1. "
                          f"Received: {n_trials!r}")
    direction = sweeper.get("direction")
    if not isinstance(direction, str):
        return  # several objectives: nothing to compare with one monitor
    monitor = str(cfg.trainer.monitor)
    wanted = "minimize" if improves(monitor, str(cfg.trainer.monitor_mode)) == "min" \
        else "maximize"
    if direction.lower() != wanted:
        raise ConfigError(
            f"`hydra.sweeper.direction` must follow trainer.monitor={monitor}, which improves "
            f"as it {'falls' if wanted == 'minimize' else 'grows'}. Received: {direction!r}. "
            f"Add hydra.sweeper.direction={wanted}")
