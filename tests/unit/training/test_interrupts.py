"""Interrupts while the state is saved wait for the save to finish."""

from __future__ import annotations

import os
import signal

import pytest

from cnnkit.training.interrupts import held_back, interrupts_as_keyboard_interrupt


def test_sigterm_is_a_keyboard_interrupt_held_back_while_saving():
    saved = []
    with interrupts_as_keyboard_interrupt():
        with pytest.raises(KeyboardInterrupt), held_back():
            os.kill(os.getpid(), signal.SIGTERM)
            saved.append("state")  # still runs: the interrupt waits for the block's end
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert saved == ["state"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored
