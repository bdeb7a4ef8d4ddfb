"""Which run directory `cnnkit train` may write, and what `resume=` continues.

Training into a finished run is refused unless `overwrite=true` (which clears what the old run
wrote); into an interrupted one, refused with the `resume=` command to type. `resume=RUN_DIR`
(or `resume=last`) takes the config saved in the run; overrides given with it may only change
the keys named in `allow_changes=[...]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnkit.errors import ConfigError, RunDirError
from cnnkit.io import rundir

OPTIONS = ("resume", "allow_changes", "overwrite")


@dataclass
class TrainOptions:
    """`cnnkit train`'s own arguments, which are not part of the config."""

    resume: str | None = None
    allow_changes: list[str] = field(default_factory=list)
    overwrite: bool = False


def take_options(args: list[str]) -> tuple[TrainOptions, list[str]]:
    """Pull `resume=`, `allow_changes=` and `overwrite=` out of the arguments."""
    options, rest = TrainOptions(), []
    for arg in args:
        key, sep, value = arg.lstrip("+").partition("=")
        if not sep or key not in OPTIONS:
            rest.append(arg)
        elif key == "resume":
            options.resume = value.strip() or None
        elif key == "allow_changes":
            options.allow_changes = [k.strip() for k in value.strip("[]").split(",") if k.strip()]
        elif value.lower() in ("true", "false", "1", "0"):
            options.overwrite = value.lower() in ("true", "1")
        else:
            raise ConfigError(f"`overwrite` must be true or false. Received: {value!r}")
    if options.allow_changes and not options.resume:
        raise ConfigError("`allow_changes` only applies with `resume=RUN_DIR`: a new run takes any "
                          f"override. Received: allow_changes={options.allow_changes}")
    if options.overwrite and options.resume:
        raise ConfigError("`overwrite=true` and `resume=` contradict each other: resume continues "
                          "the run, overwrite starts it again. Use one.")
    return options, rest


def check_target(path: Path, overwrite: bool) -> None:
    """Refuse to train into a run directory that holds a run, unless `overwrite`."""
    status = rundir.run_status(path)
    if status == "finished" and not overwrite:
        raise RunDirError(
            f"`{path}` holds a finished run. Train into a new directory, replace it with "
            f"overwrite=true, or train it longer with: cnnkit train resume={path} "
            "allow_changes=[trainer.epochs] trainer.epochs=N")
    if status == "interrupted" and not overwrite:
        raise RunDirError(
            f"`{path}` holds an interrupted run. Continue it with: cnnkit train resume={path} "
            "(or start it again with overwrite=true)")
    if status == "other":
        raise RunDirError(f"`{path}` is a folder that is not a cnnkit run and is not empty. "
                          "Expected a new or empty directory for hydra.run.dir")


def resolve_resume(value: str, runs_folder: Path) -> Path:
    """The run directory `resume=` names; `last`: the newest run of the experiment."""
    if value != "last":
        path = Path(value).expanduser()
        if not path.is_dir():
            raise RunDirError(f"`resume={value}`: no such run directory. Expected a directory "
                              "written by `cnnkit train` (it prints its path).")
        return path
    runs = [p for p in runs_folder.glob("*") if p.is_dir() and rundir.run_status(p) != "new"
            and (p / rundir.CONFIG).is_file()] if runs_folder.is_dir() else []
    if not runs:
        raise RunDirError(f"`resume=last`: no run in {runs_folder} to resume. Expected a folder "
                          "of runs of this experiment (name=...), or give resume=RUN_DIR")
    return max(runs, key=lambda p: (p / rundir.CONFIG).stat().st_mtime)


def changed_keys(saved: Any, wanted: Any) -> list[str]:
    """Dotted keys whose values differ between two configs."""
    from cnnkit.config.plain import to_plain

    def flat(value: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                out.update(flat(item, f"{prefix}{key}."))
            return out or {prefix.rstrip("."): {}}
        return {prefix.rstrip("."): value}

    before, after = flat(to_plain(saved)), flat(to_plain(wanted))
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def refuse_changes(changed: list[str], allowed: list[str], path: Path) -> None:
    """Overrides on a resumed run may only change what `allow_changes` names (or below it)."""
    refused = [k for k in changed if not any(k == a or k.startswith(f"{a}.") for a in allowed)]
    if refused:
        raise ConfigError(
            f"`resume={path}`: the overrides change the run's config at {', '.join(refused)}. "
            f"A resumed run keeps its config; allow them with allow_changes=[{','.join(refused)}] "
            "or start a new run")
