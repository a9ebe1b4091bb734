"""'Hear it': a live stream's last seconds, converted then unconverted, for the monitor device."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..engine.pairring import PairRing
from .ring import SampleRing

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
        self._take = SampleRing(0)  # the A/B being played; a new one per start
        self._left = 0  # samples of A/B still to play

    @property
    def playing(self) -> bool:
        return self._left > 0

    def record(self, dry: FloatArray, converted: FloatArray) -> None:
        """Audio callback: remember a block of input and what was played for it."""
        self._history.push(dry, converted)

    def start(self) -> float:
        """Queue the newest ``REPLAY_S`` converted, a gap, the same unconverted; returns seconds."""
        dry, wet = self._history.latest(round(REPLAY_S * self.rate))
        take = np.concatenate([wet, np.zeros(round(GAP_S * self.rate)), dry])
        self._left = 0  # the monitor plays live until the new take is in place
        ring = SampleRing(len(take), dtype=np.float32)
        ring.write(take)
        self._take = ring
        self._left = len(take)
        return len(take) / self.rate

    def play(self, out: npt.NDArray) -> None:
        """Monitor callback: overwrite ``out`` (the live block) with the next A/B samples while
        playing back; copies only."""
        if self._left > 0:
            self._take.read_into(out)
            self._left -= len(out)
