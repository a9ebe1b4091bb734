"""Converted audio the live stream queues ahead of the device: the worker's slack, load-adaptive."""

from __future__ import annotations

import math
from collections.abc import Callable
from time import perf_counter

import numpy as np
import numpy.typing as npt

from ..dsp.levels import db_to_gain
from ..profiles import BALANCED

FloatArray = npt.NDArray[np.float64]

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


#: The most converted audio the stream queues ahead however loaded the machine: beyond it a
#: late block is a dropout again rather than ever more latency.
MAX_HEADROOM_S = 0.050
#: A block is nearly late when the worker used more than this share of the time it had.
NEARLY_LATE = 0.75
#: After this long with neither a late nor a nearly late block, the headroom shrinks by a block.
CALM_S = 60.0
#: Peak level (dBFS) under which converted audio counts as silence: a block of silence goes
#: in, or a quiet block is left out, only there, so that speech is never cut.
QUIET_DB = -50.0
#: Arrival times kept (callbacks): the worker is never this many blocks behind.
_ARRIVALS = 256


class AdaptiveHeadroom:
    """The converted audio queued ahead of the device, following the load.

    A late block (the callback found it missing and played silence) delays everything
    after it by the gap: the headroom keeps what the gap added. A nearly late one (the
    worker queued it after ``NEARLY_LATE`` of the time it had) raises the target by a
    block. After ``calm_s`` of neither, the target drops by a block, never below ``base``;
    it never exceeds ``max_s``. The worker meets the target in the audio it queues: a
    block of silence after a quiet stretch, or a quiet block left out (:meth:`adjust`).

    :meth:`arrived` and :meth:`missed` run on the audio callback, :meth:`adjust` on the
    worker; each side writes only its own fields, so neither waits for the other.
    """

    def __init__(self, base: int, block: int, rate: int, max_s: float = MAX_HEADROOM_S,
                 calm_s: float = CALM_S, clock: Callable[[], float] = perf_counter) -> None:
        self.base, self.block, self.rate, self.calm_s = base, block, rate, calm_s
        self._clock = clock
        self.limit = max(base, block * math.floor(max_s * rate / block))
        self.target = base
        self.gaps = self.late = 0  # silence played for late blocks, and how often (callback)
        self.adjusted = self.nearly_late = 0  # samples inserted (+) or left out (-) (worker)
        self._arrivals = np.zeros(_ARRIVALS)  # clock() when each callback's block came
        self._n_arrived = self._n_converted = 0
        self._gaps_seen, self._calm_since = 0, clock()
        self._quiet = db_to_gain(QUIET_DB)

    @property
    def samples(self) -> int:
        """Converted samples queued ahead now: the stream's latency beyond the engine's."""
        return self.base + self.gaps + self.adjusted

    def arrived(self) -> None:
        """The callback queued a block for the worker (audio thread)."""
        self._arrivals[self._n_arrived % _ARRIVALS] = self._clock()
        self._n_arrived += 1

    def missed(self, missing: int) -> None:
        """The callback played ``missing`` samples of silence: a late block (audio thread)."""
        self.gaps += missing
        self.late += 1

    def pending_since(self) -> float:
        """When the oldest block not yet converted arrived (clock()), for the worker."""
        return float(self._arrivals[self._n_converted % _ARRIVALS])

    def adjust(self, converted: FloatArray) -> FloatArray:
        """The worker's newly converted blocks as it should queue them (a block more or less).

        Also moves the target: the oldest of these blocks arrived ``waited`` seconds ago
        and is needed ``samples / rate`` seconds after it arrived.
        """
        now = self._clock()
        waited = now - self._arrivals[self._n_converted % _ARRIVALS]
        self._n_converted += len(converted) // self.block
        samples = self.samples
        if self.gaps != self._gaps_seen:
            self._gaps_seen, self._calm_since = self.gaps, now
            self.target = min(self.limit, max(self.target, samples))
        elif waited > NEARLY_LATE * samples / self.rate:
            self.nearly_late += 1
            self._calm_since = now
            if samples >= self.target:  # one block at a time
                self.target = min(self.limit, self.target + self.block)
        elif now - self._calm_since > self.calm_s and self.target > self.base:
            self.target -= self.block
            self._calm_since = now
        change = self.target - samples
        if not change or len(converted) < self.block or \
                np.max(np.abs(converted)) > self._quiet:
            return converted
        if change > 0:  # silence after silence: heard as a pause a few ms longer
            self.adjusted += self.block
            return np.concatenate([converted, np.zeros(self.block)])
        self.adjusted -= self.block
        return converted[:-self.block]
