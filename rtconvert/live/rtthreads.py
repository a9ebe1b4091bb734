"""How the stream's threads are scheduled: the worker just below the audio callback."""

from __future__ import annotations

import gc
import os
import sys

#: While streaming, how long a Python thread may hold the interpreter before another
#: (the audio callback) gets it: the default 5 ms is a whole audio block.
SWITCH_INTERVAL_S = 0.0005
DEFAULT_SWITCH_INTERVAL_S = sys.getswitchinterval()


def realtime_priority() -> int | None:
    """The calling thread's real-time (FIFO or round-robin) priority; None if it has none."""
    try:
        if os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR):
            return os.sched_getparam(0).sched_priority
    except (AttributeError, OSError):  # not Linux
        pass
    return None


def run_just_below(priority: int | None) -> None:
    """Real-time scheduling for the calling thread one step below ``priority``, where allowed.

    The audio callback waits for the interpreter lock while the worker holds it, so a
    worker preempted by ordinary processes would make the callback late; a worker above
    the callback (or a real-time worker beside an ordinary callback) would starve it. JACK
    runs its clients at its own priority minus 5 (5 with jackd's default of 10, 65 with
    ``-P 70``); other host APIs may not run the callback in real time at all.
    """
    if priority is None or priority <= 1:
        return
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority - 1))
    except (AttributeError, OSError):  # not Linux, or not permitted: ordinary scheduling
        pass


def enter_streaming() -> None:
    """Interpreter settings for streaming: short lock hand-overs, no scans of old objects."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.freeze()  # what exists now never needs scanning: shorter collector pauses


def leave_streaming() -> None:
    """Undo :func:`enter_streaming`."""
    gc.unfreeze()
    sys.setswitchinterval(DEFAULT_SWITCH_INTERVAL_S)
