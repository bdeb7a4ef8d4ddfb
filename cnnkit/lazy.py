"""A module named at import time but imported on first use: `tf = lazy("tensorflow")`.

Modules that register components (augmentation transforms) must be importable before TensorFlow
loads, so the validation pass can read their registrations and `--help` stays instant. Unlike
`lazy_loader`, nothing is put in `sys.modules` until an attribute is used, so "is TensorFlow
imported?" keeps its plain meaning.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Forwards attribute access to the module `name`, importing it the first time."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    return LazyModule(name)
