"""Small pieces the subcommands share: argument splitting, overrides on a saved config, output."""

from __future__ import annotations

import sys
from typing import Any

from cnnkit.errors import CnnkitError, ConfigError


def split_named_args(args: list[str], named: dict[str, str], usage: str,
                     optional: tuple[str, ...] = ()) -> tuple[dict[str, str], list[str]]:
    """Pull `run=...`, `input=...` style arguments out of `args`; the rest are config overrides.

    `named` maps each name to its description; all are required. `optional` names are pulled
    out too when given (`n=64` of `cnnkit sample`).
    """
    values: dict[str, str] = {}
    rest: list[str] = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and (key in named or key in optional):
            values[key] = value
        else:
            rest.append(arg)
    missing = [k for k in named if not values.get(k)]
    if missing:
        wanted = "; ".join(f"`{k}=` {named[k]}" for k in missing)
        raise ConfigError(f"missing {wanted}. Usage: {usage}")
    return values, rest


def tta_option(args: list[str]) -> tuple[str, list[str]]:
    """`tta=none|flips|flips_all` of evaluate and predict (InferenceSchema), and the other args."""
    from cnnkit.config.check import check_group
    from cnnkit.config.schema import InferenceSchema

    given = {k: v for k, _, v in (a.partition("=") for a in args) if k == "tta"}
    rest = [a for a in args if a.partition("=")[0] != "tta"]
    return check_group(given, InferenceSchema, "")["tta"], rest


def apply_overrides(cfg: Any, overrides: list[str]) -> Any:
    """Apply `key=value` overrides to a saved config; unknown keys are errors, not new keys."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"expected key=value. Received: {item!r}")
    try:
        OmegaConf.set_struct(cfg, True)
        merged = OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "override"
        raise ConfigError(f"`{key}`: {str(exc).splitlines()[0]}") from exc
    OmegaConf.set_struct(merged, False)
    return merged


def model_only_config(config_name: str, args: list[str]) -> Any:
    """The validated config of a command that only builds the model (summary, validate).

    The data matter when the user picked them (`data=`, `data.KEY=`, `conf=`) or the model takes
    its input shape from them; otherwise a preset is built on its own input shape (`summary
    model=unet3d`) and the rules matching it to the default data are skipped."""
    from cnnkit.commands.validation import validated
    from cnnkit.config.compose import compose

    cfg = compose(config_name, args)
    chosen = any(a.startswith(("data=", "data.", "conf=")) for a in args)
    return validated(cfg, uses_data=chosen or cfg.model.get("input_shape") is None)


def symbolic_model(cfg: Any) -> Any:
    """The configured model built without training: input shape and class count from the
    model config, or from the data's first examples (at most a few files are decoded)."""
    from omegaconf import open_dict

    from cnnkit.data.build import peek
    from cnnkit.models.build import build_model
    from cnnkit.tasks import get_task
    from cnnkit.tasks.model_config import complete_model_config

    task = get_task(cfg.task, cfg)
    if cfg.model.get("input_shape") is None or cfg.model.get("num_classes", 0) is None:
        probe = cfg.copy()
        with open_dict(probe):
            probe.data.max_samples = min(int(cfg.data.get("max_samples") or 64), 64)
        input_shape, class_names = peek(probe)
    else:
        input_shape, class_names = list(cfg.model.input_shape), None
    complete_model_config(cfg, task, input_shape, class_names)
    return build_model(cfg.model)


def user_error(error: BaseException) -> BaseException:
    """The user error behind `error`: a file the pipeline could not decode reaches the command
    wrapped in a TensorFlow error, and is reported as the `DataError` naming the file."""
    from cnnkit.data.file_splits import read_error_behind

    return read_error_behind(error) or error


def report_error(command: str, error: CnnkitError) -> int:
    """Print a user error as one message; returns the exit code."""
    print(f"cnnkit {command}: error: {error}", file=sys.stderr)
    return error.exit_code


def wants_debug(args: list[str]) -> bool:
    return any(a.lower() in ("debug=true", "+debug=true", "++debug=true", "debug=1") for a in args)


def quiet_tensorflow(debug: bool = False) -> None:
    """Import TensorFlow with its C++/absl start-up chatter (CUDA probing, oneDNN notes) hidden.

    Those lines are written to file descriptor 2 before any log level applies, so the descriptor
    is pointed at /dev/null for the import and the first device query. TensorFlow's Python INFO
    lines (MultiWorkerMirroredStrategy logs each all-reduce) would pass Hydra's INFO root logger,
    so its logger is set to WARNING. `debug=true` keeps them all.
    """
    import logging
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    if debug:
        return
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def console(stderr: bool = False) -> Any:
    """A rich console; wide when output goes to a file so tables are not squeezed."""
    import shutil

    from rich.console import Console

    width = shutil.get_terminal_size((140, 24)).columns
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, width=width)
