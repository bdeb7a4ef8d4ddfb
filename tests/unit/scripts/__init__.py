"""Tests of scripts/*.py, which are files, not package modules."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]


def loaded_script(name: str) -> Iterator[ModuleType]:
    """scripts/<name>.py imported as the module `name` for a fixture's lifetime (dataclasses
    look their module up in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]
