"""Converted audio the live stream queues ahead of the device: the worker's slack per block."""

from __future__ import annotations

import math

from .profiles import BALANCED

#: The least time the worker has to convert a block before the device plays it: the
#: worst step time measured by ``rtconvert bench`` (p99 2-5 ms) plus scheduling slack (on
#: JACK here the worker took up to 7 ms while JACK's threads and a feeder shared 2 cores).
#: The balanced profile's; each latency profile sets its own (``LatencyProfile.headroom_s``).
HEADROOM_S = BALANCED.headroom_s


def headroom_samples(block: int, rate: int, headroom_s: float = HEADROOM_S) -> int:
    """Converted samples queued ahead of the device so the worker has ``headroom_s`` per block.

    The callback pops whole blocks: with ``n`` blocks queued, block k's conversion is
    first needed by callback k + n, ``n`` block periods later. A queue of 1.9 blocks
    would leave a single period, so the headroom is rounded up to whole blocks, and is
    never less than one (the worker can only start after the callback handed it the block).
    """
    return block * max(1, math.ceil(headroom_s * rate / block - 1e-9))
