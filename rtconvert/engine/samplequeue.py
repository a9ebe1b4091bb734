"""A first-in first-out queue of samples, safe to share between two threads."""

from __future__ import annotations

import collections
import threading

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class SampleQueue:
    """Samples handed from one thread to another; ``pop`` pads what has not arrived with zeros."""

    def __init__(self, prefill: int = 0) -> None:
        self._lock = threading.Lock()
        self._blocks: collections.deque[FloatArray] = collections.deque()
        if prefill:
            self._blocks.append(np.zeros(prefill))

    def push(self, samples: FloatArray) -> None:
        with self._lock:
            self._blocks.append(samples)

    def pop(self, n: int) -> tuple[FloatArray, int]:
        """The oldest ``n`` samples, and how many of them were missing (zeros)."""
        out = np.zeros(n)
        filled = 0
        with self._lock:
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

    def trim(self, keep: int) -> None:
        """Drop the oldest samples beyond ``keep``."""
        with self._lock:
            excess = sum(len(b) for b in self._blocks) - keep
            while excess > 0 and self._blocks:
                block = self._blocks[0]
                if len(block) <= excess:
                    self._blocks.popleft()
                    excess -= len(block)
                else:
                    self._blocks[0], excess = block[excess:], 0

    def pop_all(self) -> FloatArray:
        with self._lock:
            blocks, self._blocks = list(self._blocks), collections.deque()
        return np.concatenate(blocks) if blocks else np.zeros(0)
