"""Ctrl-C and SIGTERM (a batch system's stop) as KeyboardInterrupt, held back while the
training state is being saved: an interrupt then lands after the epoch's state is complete,
so what the message says was saved is saved."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_held = {"depth": 0, "pending": False}


def _interrupt(signum: int, frame: Any) -> None:
    if _held["depth"]:
        _held["pending"] = True
        return
    raise KeyboardInterrupt


@contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """Inside: SIGINT and SIGTERM raise KeyboardInterrupt (or wait for `held_back` to end)."""
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def hold() -> None:
    """From now until the matching `release`, an interrupt waits."""
    _held["depth"] += 1


def release() -> None:
    """End a `hold`; an interrupt that arrived meanwhile is raised now."""
    _held["depth"] -= 1
    if not _held["depth"] and _held["pending"]:
        _held["pending"] = False
        raise KeyboardInterrupt


@contextmanager
def held_back() -> Iterator[None]:
    """An interrupt arriving inside is raised when the block ends."""
    hold()
    try:
        yield
    finally:
        release()
