"""HeldSignals: SIGINT inside the block waits for deliver() or the end of the block, and is never lost."""

from __future__ import annotations

import os
import signal

import pytest

from yetztml.core.signals import HeldSignals


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Python's own SIGINT handler, also where the tests run with SIGINT ignored (a background job)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_held_signal_waits_for_deliver():
    done = []
    with pytest.raises(KeyboardInterrupt), HeldSignals() as held:
        os.kill(os.getpid(), signal.SIGINT)
        done.append("work after the signal")
        assert held.pending == [signal.SIGINT]
        held.deliver()
        done.append("not reached")
    assert done == ["work after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_after_the_last_deliver_is_passed_on_at_the_end_of_the_block():
    done = []
    with pytest.raises(KeyboardInterrupt), HeldSignals() as held:
        held.deliver()  # nothing held yet
        os.kill(os.getpid(), signal.SIGINT)
        done.append("the rest of the block")
    assert done == ["the rest of the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_repeated_signal_is_not_held():
    with pytest.raises(KeyboardInterrupt), HeldSignals():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("the second Ctrl-C should have interrupted the block")
