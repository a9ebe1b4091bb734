"""A first-in first-out queue of samples between the engine's stages, within one thread."""

from __future__ import annotations

import collections

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class SampleQueue:
    """Samples handed from one stage to the next; ``pop`` pads what has not arrived with zeros.

    Not for handing samples between threads: :class:`rtconvert.live.ring.SampleRing` does that.
    """

    def __init__(self, prefill: int = 0) -> None:
        self._blocks: collections.deque[FloatArray] = collections.deque()
        if prefill:
            self._blocks.append(np.zeros(prefill))

    def push(self, samples: FloatArray) -> None:
        self._blocks.append(samples)

    def pop(self, n: int) -> tuple[FloatArray, int]:
        """The oldest ``n`` samples, and how many of them were missing (zeros)."""
        out = np.zeros(n)
        filled = 0
        while filled < n and self._blocks:
            block = self._blocks[0]
            take = min(n - filled, len(block))
            out[filled:filled + take] = block[:take]
            filled += take
            if take == len(block):
                self._blocks.popleft()
            else:
                self._blocks[0] = block[take:]
        return out, n - filled
