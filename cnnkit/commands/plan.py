"""`cnnkit plan` and `model=auto`: wires the data profile, the user's own keys and the plan's
rules into the overrides `cnnkit train` runs with, a printed table and `plan.yaml`.

The plan is resolved before Hydra composes the training config, as overrides appended to the
user's (the plan leaves out every key the user set), so the run's config.yaml, `--cfg job`,
sweeps and resume see the chosen presets like any typed on the command line. `cnnkit train`
plans when the model is `auto`, or when no model is given (no `model=`, no `model.` key, none in
the conf file) and the data are not a built-in demo source: those keep conf/model/default.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.config.compose import GROUPS, compose, translate_overrides
from cnnkit.config.explicit import Explicit, explicit_settings
from cnnkit.config.plain import to_plain
from cnnkit.training.plan import Plan, make_plan

#: sources that make their own demo data: they keep the small default CNN
BUILTIN_SOURCES = ("digits", "shapes", "shapes_multi", "signals", "volumes")
AUTO = "model=auto"


def _given(cfg: Any, explicit: Explicit, keys: list[str]) -> dict[str, Any]:
    """The user's values of the keys the plan would choose: a group only when selected (its
    keys then override the planned group's), other keys when set."""
    from omegaconf import OmegaConf

    given: dict[str, Any] = {}
    for key in keys:
        if key in GROUPS:
            if explicit.groups.get(key) not in (None, "auto"):
                given[key] = explicit.groups[key]
        elif explicit.has(key):
            given[key] = to_plain(OmegaConf.select(cfg, key))
    return given


def plan_config(cfg: Any, explicit: Explicit) -> Plan:
    """The plan for the composed `cfg`; the keys in `explicit` keep the user's values."""
    from cnnkit.data.profile import profile_data
    from cnnkit.data.sources import check_source

    check_source(cfg.data)  # a typo or a missing folder: one line, before any file is listed
    profile = profile_data(cfg.data)
    task = str(cfg.task.name)
    keys = [c.key for c in make_plan(profile, task, {}).choices]
    return make_plan(profile, task, _given(cfg, explicit, keys))


def plan_for(args: list[str], overrides: list[str], first: list[str]
             ) -> tuple[Plan | None, list[str]]:
    """The plan of a `cnnkit train` command line and the Hydra overrides to train with.

    `args` as typed, `overrides` their Hydra form, `first` the plain overrides of a sweep's
    first values (what is composed to profile the data). (None, overrides) when the model is
    given or the data are a built-in source."""
    explicit = explicit_settings(args)
    auto = explicit.groups.get("model") == "auto"
    if not auto and explicit.has("model"):
        return None, overrides
    cfg = compose("train", [o for o in first if o != AUTO])
    if not auto and str(cfg.data.source) in BUILTIN_SOURCES:
        return None, overrides
    plan = plan_config(cfg, explicit)
    return plan, [o for o in overrides if o != AUTO] + translate_overrides(plan.overrides())


def describe(plan: Plan) -> str:
    """One line of what the plan saw, e.g. `folder: 84 training examples, 28×28, 1 channel`."""
    p = plan.profile
    size = "×".join(map(str, p.size_median))
    if p.size_min != p.size_max:
        size += f" (median; {'×'.join(map(str, p.size_min))} to {'×'.join(map(str, p.size_max))})"
    parts = [f"{p.examples} training examples", size, f"{p.channels} channel(s)"]
    if p.class_counts:
        parts.append(f"{len(p.class_counts)} classes, largest/smallest {p.imbalance:.1f}")
    if p.foreground is not None:
        parts.append(f"foreground {p.foreground:.1%}")
    if p.spacing:
        parts.append("spacing " + "×".join(f"{s:g}" for s in p.spacing) + " mm")
    return f"{p.source} ({plan.task}): " + ", ".join(parts)


def print_plan(plan: Plan, console: Any) -> None:
    """The plan as a table: each choice, its value and why (the user's own marked)."""
    from rich.table import Table

    from cnnkit.training.plan import hydra_value

    table = Table(title=f"plan: {describe(plan)}", title_justify="left", show_edge=False)
    for column in ("key", "value", "why"):
        table.add_column(column)
    for choice in plan.choices:
        table.add_row(choice.key, hydra_value(choice.value),
                      f"[bold]{choice.why}[/bold]" if choice.yours else choice.why)
    console.print(table)


def save_plan(plan: Plan, run_path: Path) -> Path:
    """plan.yaml in the run directory, written atomically."""
    import yaml

    from cnnkit.io import rundir

    text = yaml.safe_dump(plan.to_dict(), sort_keys=False, allow_unicode=True)
    return rundir.write_text(Path(run_path) / rundir.PLAN, text)


def run(args: list[str]) -> Plan:
    """`cnnkit plan [data=...] [task=...] [key=value ...]`: print the plan, train nothing."""
    from cnnkit.commands.common import console

    cfg = compose("train", [a for a in args if a != AUTO])
    plan = plan_config(cfg, explicit_settings(args))
    print_plan(plan, console())
    typed = [a for a in args if a != AUTO]
    if plan.profile.source in BUILTIN_SOURCES:  # train keeps the default CNN on them
        typed.insert(0, AUTO)
    console().print(" ".join(["train with it: cnnkit train", *typed]))
    return plan
