"""Hands `cnnkit train` to Hydra's own entry point, so -m sweeps, --cfg and run dirs just work."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cnnkit.commands.common import quiet_tensorflow, wants_debug
from cnnkit.config.compose import CONFIG_MODULE, translate_overrides
from cnnkit.errors import CnnkitError


def launch_train(args: list[str]) -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    debug = wants_debug(args)
    overrides = translate_overrides(args)

    @hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="train")
    def _train_job(cfg: Any) -> Any:
        from cnnkit.cli import report_error
        from cnnkit.data.sources import check_source

        run_path = Path(HydraConfig.get().runtime.output_dir)
        try:
            check_source(cfg.data)  # missing data fails in a second, before TensorFlow loads
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
