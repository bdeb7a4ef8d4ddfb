"""Hands `cnnkit train` to Hydra's own entry point, so -m sweeps, --cfg and run dirs just work.

Before Hydra runs, the config is composed and validated here (each value of a sweep too), so a
typo is one line and exit 2 — also under `--cfg job`, which would otherwise print a broken config
and exit 0 — and nothing of a run directory is created for a config that cannot train.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cnnkit.commands.common import quiet_tensorflow, report_error, wants_debug
from cnnkit.commands.validation import validated
from cnnkit.config.compose import CONFIG_MODULE, hydra_errors, translate_overrides
from cnnkit.errors import CnnkitError

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
            values = [f"{prefix}={v}" for v in override.sweep_string_iterator()]
            first.append(values[0])
            choices.append((index, values))
        else:
            first.append(overrides[index])
    variants = [first]
    for index, values in choices:
        for value in values[1:]:
            variants.append([*first[:index], value, *first[index + 1:]])
    return variants


def precheck(overrides: list[str]) -> None:
    """Compose and validate what Hydra will run, raising ConfigError before it starts."""
    from hydra import compose, initialize_config_module

    for variant in sweep_variants(plain_overrides(overrides)):
        with hydra_errors(variant), initialize_config_module(
                config_module=CONFIG_MODULE, version_base="1.3"):
            cfg = compose(config_name="train", overrides=variant)
        validated(cfg)


def launch_train(args: list[str]) -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    debug = wants_debug(args)
    overrides = translate_overrides(args)
    precheck(overrides)

    @hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="train")
    def _train_job(cfg: Any) -> Any:
        run_path = Path(HydraConfig.get().runtime.output_dir)
        try:
            cfg = validated(cfg)  # fills the schemas' defaults; its checks passed in precheck
            quiet_tensorflow(debug)
            from cnnkit.commands.train import run

            return run(cfg, run_path)
        except CnnkitError as error:
            if debug:
                raise
            sys.exit(report_error("train", error))

    saved_argv = sys.argv
    sys.argv = ["cnnkit-train", *overrides]
    try:
        _train_job()
    finally:
        sys.argv = saved_argv
