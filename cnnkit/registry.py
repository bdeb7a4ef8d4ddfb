"""One generic registry that maps config names to implementations and their schemas.

Config files refer to components by registry name (never by an open-ended `_target_`), so a
config file cannot run arbitrary code, and an unknown name gets a list of the closest valid ones.

A registered object is whatever its registry's docstring says (a source loader, a task class,
a model builder, ...). Its entry may carry:
- `schema`: a dataclass of the config keys the component reads (see `cnnkit.config.check`); the
  validation pass checks the component's config group against it before TensorFlow is imported;
- `check`: `check(values, config)` with the group's checked values (a dict) and the whole checked
  config (a dict), run after the schema and free of TensorFlow; it raises `CnnkitError` for what a
  schema cannot say (a file that must exist, a combination of keys).
Adding a component is one registration: nothing else needs editing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cnnkit.errors import ConfigError, did_you_mean

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered component."""

    name: str
    obj: T
    schema: type | None = None
    check: Callable[[dict[str, Any], dict[str, Any]], None] | None = None


class Registry(Generic[T]):
    """Name -> object (with its schema), with suggestions on a miss."""

    def __init__(self, kind: str, config_key: str) -> None:
        self.kind = kind
        self.config_key = config_key
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, schema: type | None = None,
                 check: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
                 ) -> Callable[[T], T]:
        """Decorator: `@SOURCES.register("digits", schema=DigitsSchema)`."""

        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Entry(name, obj, schema, check)
            return obj

        return add

    def entry(self, name: str, key: str | None = None) -> Entry[T]:
        """The entry of `name`, or a ConfigError naming `key` (default: the registry's key)."""
        if name not in self._entries:
            raise ConfigError(
                f"`{key or self.config_key}` names an unknown {self.kind}. Received: {name!r}. "
                f"Expected one of: {', '.join(sorted(self._entries))}."
                f"{did_you_mean(name, self._entries)}"
            )
        return self._entries[name]

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def list(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Any:
        return iter(sorted(self._entries))
