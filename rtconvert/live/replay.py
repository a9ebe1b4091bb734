"""'Hear it': a live stream's last seconds, converted then unconverted, for the monitor device."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..engine.pairring import PairRing
from ..engine.samplequeue import SampleQueue

FloatArray = npt.NDArray[np.float64]

#: Seconds played back, each way.
REPLAY_S = 5.0
#: Silence between the converted and the unconverted take.
GAP_S = 0.4


class Replay:
    """Keeps the newest ``REPLAY_S`` of a stream's input and output; plays them back as A/B.

    :meth:`record` runs in the audio callback (copies into a preallocated ring);
    :meth:`start` (any thread) queues converted, a gap, then unconverted audio;
    :meth:`play` runs in the monitor's callback and returns that A/B while it lasts,
    else the live block it was given.

    Parameters
    ----------
    rate : int
        Sample rate of the stream.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        margin = rate // 2  # far more than a callback pushes during a read
        self._history = PairRing(round(REPLAY_S * rate) + margin, np.float32, margin)
        self._queue = SampleQueue()
        self._left = 0  # samples of A/B still to play

    @property
    def playing(self) -> bool:
        return self._left > 0

    def record(self, dry: FloatArray, converted: FloatArray) -> None:
        """Audio callback: remember a block of input and what was played for it."""
        self._history.push(dry, converted)

    def start(self) -> float:
        """Queue the newest ``REPLAY_S`` converted, a gap, the same unconverted; returns seconds."""
        dry, wet = self._history.latest(round(REPLAY_S * self.rate)).astype(np.float64)
        take = np.concatenate([wet, np.zeros(round(GAP_S * self.rate)), dry])
        self._left = 0
        self._queue.pop_all()
        self._queue.push(take)
        self._left = len(take)
        return len(take) / self.rate

    def play(self, live: FloatArray) -> FloatArray:
        """Monitor callback: the next A/B samples while playing back, else ``live``."""
        if self._left <= 0:
            return live
        out, _ = self._queue.pop(len(live))
        self._left -= len(live)
        return out
