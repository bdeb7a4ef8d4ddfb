"""One generic registry that maps config names to implementations.

Config files refer to components by registry name (never by an open-ended `_target_`), so a
config file cannot run arbitrary code, and an unknown name gets a list of the closest valid ones.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Generic, TypeVar

from cnnkit.errors import ConfigError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object, with suggestions on a miss."""

    def __init__(self, kind: str, config_key: str) -> None:
        self.kind = kind
        self.config_key = config_key
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@SOURCES.register("digits")`."""

        def add(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        if name not in self._items:
            raise ConfigError(
                f"`{self.config_key}` names an unknown {self.kind}. Received: {name!r}. "
                f"Expected one of: {', '.join(sorted(self._items))}.{did_you_mean(name, self._items)}"
            )
        return self._items[name]

    def list(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._items if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._items
