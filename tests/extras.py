"""Skip markers for tests of optional extras (`pip install "cnnkit[optuna]"`, `[joblib]`)."""

from __future__ import annotations

from importlib.util import find_spec

import pytest


def installed(module: str) -> bool:
    """Whether `module` can be imported. find_spec of a submodule imports its parent package and
    raises when that is missing: without any Hydra plugin there is no `hydra_plugins` at all."""
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


needs_optuna = pytest.mark.skipif(not installed("hydra_plugins.hydra_optuna_sweeper"),
                                  reason='needs the optuna extra: pip install "cnnkit[optuna]"')
needs_joblib = pytest.mark.skipif(not installed("hydra_plugins.hydra_joblib_launcher"),
                                  reason='needs the joblib extra: pip install "cnnkit[joblib]"')
