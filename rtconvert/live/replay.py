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
    :meth:`start` (any thread) makes a take of converted, a gap, then unconverted audio;
    :meth:`play` runs in the monitor's callback and writes that A/B over the live block it
    is given while the take lasts.

    Parameters
    ----------
    rate : int
        Sample rate of the stream.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        margin = rate // 2  # far more than a callback pushes during a read
        self._history = PairRing(round(REPLAY_S * rate) + margin, np.float32, margin)
        self._take: SampleRing | None = None  # the A/B being played; a new one per start

    @property
    def playing(self) -> bool:
        take = self._take
        return take is not None and take.available > 0

    def record(self, dry: FloatArray, converted: FloatArray) -> None:
        """Audio callback: remember a block of input and what was played for it."""
        self._history.push(dry, converted)

    def start(self) -> float:
        """Queue the newest ``REPLAY_S`` converted, a gap, the same unconverted; returns seconds."""
        dry, wet = self._history.latest(round(REPLAY_S * self.rate))
        take = np.concatenate([wet, np.zeros(round(GAP_S * self.rate)), dry])
        ring = SampleRing(len(take), dtype=np.float32)
        ring.write(take)
        self._take = ring  # published whole: the monitor reads this one from its next block
        return len(take) / self.rate

    def play(self, out: npt.NDArray) -> None:
        """Monitor callback: overwrite ``out`` (the live block) with the next A/B samples while
        playing back; copies only."""
        take = self._take
        if take is not None and take.available > 0:
            take.read_into(out)
