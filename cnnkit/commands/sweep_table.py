"""The summary at the end of `cnnkit train -m`: every trial's overrides and final metrics.

A Hydra callback (conf/train.yaml `hydra.callbacks`) reads the sweep directory once the sweeper is
done — each trial's `.hydra/overrides.yaml` and `metrics.json`, or `failed.json` — so the table is
the same whichever launcher ran the trials (in this process, joblib workers, SLURM jobs). It
prints the table with the best trial marked and named, and writes it as `<sweep dir>/trials.csv`.
Under it, mean and ± std rows summarise each metric over the trials that finished (a
cross-validation, `-m data.fold=0,1,2,3,4`, reads its result there), also written as
`<sweep dir>/trials_summary.csv`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from cnnkit.commands.sweeps import FAILED, improves
from cnnkit.io import rundir

TRIALS_CSV = "trials.csv"
SUMMARY_CSV = "trials_summary.csv"
#: metrics.json entries that are not results of the trial
_NOT_METRICS = ("monitor",)
#: left out of the printed table (kept in the CSV)
_TABLE_SKIPS = ("learning_rate", "epochs_run")


@dataclass
class Trial:
    name: str                                   # the trial's folder in the sweep dir (job number)
    path: Path
    overrides: dict[str, str]                   # key -> value, as the trial received them
    metrics: dict[str, Any] = field(default_factory=dict)  # metrics.json; empty when it failed
    error: str | None = None

    @property
    def failed(self) -> bool:
        return not self.metrics

    def value(self, key: str) -> float | None:
        value = self.metrics.get(key)
        return float(value) if isinstance(value, (int, float)) and not math.isnan(value) else None


@dataclass
class Sweep:
    trials: list[Trial]
    monitor: str
    mode: str                                   # min | max: how the monitor improves

    @property
    def best(self) -> Trial | None:
        scored = [t for t in self.trials if t.value(self.monitor) is not None]
        if not scored:
            return None
        pick = min if self.mode == "min" else max
        return pick(scored, key=lambda t: t.value(self.monitor))

    @property
    def varying(self) -> list[str]:
        """Override keys whose value differs between trials: the table's own columns."""
        keys = _union(t.overrides for t in self.trials)
        return [k for k in keys if len({t.overrides.get(k) for t in self.trials}) > 1]

    @property
    def constant(self) -> list[str]:
        """`key=value` of the overrides every trial shares (the table's caption)."""
        varying = set(self.varying)
        return [f"{k}={v}" for k, v in self.trials[0].overrides.items() if k not in varying] \
            if self.trials else []

    @property
    def metric_keys(self) -> list[str]:
        """The monitor first, then the other validation metrics, then the training ones."""
        keys = [k for k in _union(t.metrics for t in self.trials if not t.failed)
                if k != self.monitor and k not in _NOT_METRICS]
        return [self.monitor, *sorted(keys, key=lambda k: not k.startswith("val_"))]


@dataclass
class Spread:
    """One metric over the finished trials: mean, sample standard deviation (n - 1), count."""

    mean: float
    std: float
    count: int


def spreads(sweep: Sweep) -> dict[str, Spread]:
    """Mean ± std of every metric that two or more finished trials recorded."""
    out = {}
    for key in sweep.metric_keys:
        values = [v for t in sweep.trials if (v := t.value(key)) is not None]
        if len(values) >= 2:
            mean = math.fsum(values) / len(values)
            std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))
            out[key] = Spread(mean, std, len(values))
    return out


def summary_csv_text(sweep: Sweep) -> str:
    """metric, mean, std, n: one row per metric of `spreads`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "mean", "std", "n"])
    for key, spread in spreads(sweep).items():
        writer.writerow([key, spread.mean, spread.std, spread.count])
    return out.getvalue()


def _union(dicts: Any) -> list[str]:
    """Keys of several dicts, each once, in first-seen order."""
    return list(dict.fromkeys(k for d in dicts for k in d))


def _trial_order(path: Path) -> tuple[int, int | str]:
    return (0, int(path.name)) if path.name.isdigit() else (1, path.name)


def _read_overrides(path: Path) -> list[str] | None:
    import yaml

    file = path / ".hydra" / "overrides.yaml"
    return list(yaml.safe_load(file.read_text()) or []) if file.is_file() else None


def _as_dict(overrides: list[str]) -> dict[str, str]:
    """`++optimizer.lr=0.01` -> {"optimizer.lr": "0.01"}: the key as the user means it."""
    out = {}
    for item in overrides:
        key, _, value = str(item).partition("=")
        out[key.lstrip("+~")] = value
    return out


def read_trials(sweep_dir: Path) -> list[Trial]:
    """Every trial folder of a sweep dir, in job order. A folder Hydra made for a trial that left
    no metrics.json (it crashed, or was killed) counts as failed."""
    trials = []
    for path in sorted((p for p in Path(sweep_dir).iterdir() if p.is_dir()), key=_trial_order):
        metrics_file, failed_file = path / rundir.METRICS, path / FAILED
        overrides = _read_overrides(path)
        failure = json.loads(failed_file.read_text()) if failed_file.is_file() else None
        if metrics_file.is_file():
            trials.append(Trial(path.name, path, _as_dict(overrides or []),
                                json.loads(metrics_file.read_text())))
        elif failure is not None or overrides is not None:
            failure = failure or {"error": "ended without metrics.json (killed or crashed?)"}
            trials.append(Trial(path.name, path,
                                _as_dict(overrides if overrides is not None
                                         else failure.get("overrides", [])),
                                error=str(failure.get("error"))))
    return trials


def sweep_of(sweep_dir: Path, monitor: str, monitor_mode: str) -> Sweep:
    """The trials of `sweep_dir`, judged by the monitor their metrics.json recorded (`loss`
    where there was no validation split), else by `monitor` from the config."""
    trials = read_trials(sweep_dir)
    recorded = [t.metrics["monitor"] for t in trials if "monitor" in t.metrics]
    monitor = recorded[0] if recorded else monitor
    return Sweep(trials, monitor, improves(monitor, monitor_mode))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.3g}"
    try:  # an override value such as Optuna's 0.0031622776601683794
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.4g}" if "." in str(value) or "e" in str(value).lower() else str(value)


def csv_text(sweep: Sweep) -> str:
    """One row per trial: name, status, every override key, every metric, error, path."""
    keys = _union(t.overrides for t in sweep.trials)
    metrics = sweep.metric_keys
    best = sweep.best
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial", "status", "best", *keys, *metrics, "error", "path"])
    for t in sweep.trials:
        writer.writerow([t.name, "failed" if t.failed else "ok", int(t is best),
                         *(t.overrides.get(k, "") for k in keys),
                         *(t.metrics.get(k, "") for k in metrics), t.error or "", str(t.path)])
    return out.getvalue()


def best_line(sweep: Sweep) -> str:
    """`best: trial 3 (val_loss 0.2100) optimizer.lr=0.01 -> multirun/.../3`."""
    best = sweep.best
    if best is None:
        return f"best: none — no trial recorded {sweep.monitor}"
    chosen = " ".join(f"{k}={best.overrides[k]}" for k in sweep.varying if k in best.overrides)
    return (f"best: trial {best.name} ({sweep.monitor} {_cell(best.value(sweep.monitor))})"
            f"{' ' + chosen if chosen else ''} → {best.path}")


def render(sweep: Sweep, out: Any) -> None:
    """Print the table (best row marked), then the best trial and why any trial failed."""
    from rich.table import Table

    failed = [t for t in sweep.trials if t.failed]
    title = f"{len(sweep.trials)} trials" + (f", {len(failed)} failed" if failed else "")
    table = Table(title=f"Sweep: {title} (best by {sweep.monitor}, {sweep.mode})",
                  caption=("same in every trial: " + " ".join(sweep.constant))
                  if sweep.constant else None)
    metrics = [k for k in sweep.metric_keys if k not in _TABLE_SKIPS]
    table.add_column("trial", justify="right")
    for key in sweep.varying:
        table.add_column(key, justify="right")
    for key in metrics:
        table.add_column(key, justify="right", style="bold" if key == sweep.monitor else None)
    best = sweep.best
    for t in sweep.trials:
        marks = [f"{t.name} *" if t is best else t.name,
                 *(_cell(t.overrides.get(k, "-")) for k in sweep.varying)]
        if t.failed:
            table.add_row(*marks, "failed", *("-" for _ in metrics[1:]), style="red")
        else:
            table.add_row(*marks, *(_cell(t.metrics.get(k, "-")) for k in metrics),
                          style="green" if t is best else None)
    spread = spreads(sweep)
    if spread:
        table.add_section()  # over the trials that finished: n = trials - failed
        for label, part in (("mean", "mean"), ("± std", "std")):
            table.add_row(label, *("" for _ in sweep.varying),
                          *(_cell(getattr(spread[k], part)) if k in spread else "-"
                            for k in metrics), style="bold")
    out.print(table)
    out.print(best_line(sweep))
    for t in failed:
        out.print(f"trial {t.name} failed: {t.error}  ({t.path})")


class TrialsTable(Callback):
    """Hydra callback: at the end of a multirun, print the trials table and write trials.csv.
    Exits 1 when a trial failed (as Hydra does), after the table shows which and why."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        from cnnkit.commands.common import console

        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        trainer = config.get("trainer") or {}
        sweep = sweep_of(sweep_dir, str(trainer.get("monitor", "val_loss")),
                         str(trainer.get("monitor_mode", "auto")))
        if not sweep.trials:
            return
        rundir.write_text(sweep_dir / TRIALS_CSV, csv_text(sweep))
        if spreads(sweep):
            rundir.write_text(sweep_dir / SUMMARY_CSV, summary_csv_text(sweep))
        out = console()
        render(sweep, out)
        out.print(f"Trials table: {sweep_dir / TRIALS_CSV}")
        if any(t.failed for t in sweep.trials):
            sys.exit(1)
