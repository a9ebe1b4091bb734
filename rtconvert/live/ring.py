"""A ring of samples that one thread writes and one other reads, with no lock and no allocation.

The audio callback's side of every hand-over (input to the worker, converted audio back,
the monitor's and the recorder's copies) goes through one: each side copies into or out of
one preallocated array and then publishes how far it got by rebinding one integer, which
the other side only reads. Under CPython's global interpreter lock that rebinding is atomic
and ordered after the copy, so neither side ever waits for the other.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class SampleRing:
    """A single-producer, single-consumer FIFO of samples with a fixed capacity.

    Parameters
    ----------
    capacity : int
        Samples it can hold; a write beyond that drops what does not fit (and says so).
    prefill : int
        Samples of silence it starts with (the output's fixed delay).
    dtype : numpy dtype
        Of the stored samples; writes and reads cast as they copy.
    """

    def __init__(self, capacity: int, prefill: int = 0, dtype: npt.DTypeLike = np.float64
                 ) -> None:
        if not 0 <= prefill <= capacity:
            raise ValueError(f"prefill {prefill} must be within the capacity {capacity}")
        self._buffer = np.zeros(capacity, dtype=dtype)
        self.written = prefill  # samples published by the writer since the start
        self.read = 0  # samples consumed by the reader since the start

    @property
    def capacity(self) -> int:
        return len(self._buffer)

    @property
    def available(self) -> int:
        """Samples written and not yet read (either side may ask)."""
        return self.written - self.read

    def write(self, samples: npt.NDArray) -> int:
        """Writer: append ``samples``; returns how many did not fit and were dropped."""
        capacity = len(self._buffer)
        n = min(len(samples), capacity - (self.written - self.read))
        start = self.written % capacity
        head = min(n, capacity - start)
        self._buffer[start:start + head] = samples[:head]
        self._buffer[:n - head] = samples[head:n]
        self.written += n  # publish only once the samples are in place
        return len(samples) - n

    def read_into(self, out: npt.NDArray) -> int:
        """Reader: fill ``out`` with the oldest samples, zeros past what has arrived; returns how
        many were missing."""
        capacity = len(self._buffer)
        n = min(len(out), self.written - self.read)
        start = self.read % capacity
        head = min(n, capacity - start)
        out[:head] = self._buffer[start:start + head]
        out[head:n] = self._buffer[:n - head]
        out[n:] = 0.0
        self.read += n
        return len(out) - n

    def read_all(self) -> FloatArray:
        """Reader: everything that has arrived, as a new float64 array (not for the callback)."""
        out = np.empty(self.written - self.read)
        self.read_into(out)
        return out

    def skip_beyond(self, keep: int) -> None:
        """Reader: drop the oldest samples so that at most ``keep`` remain."""
        self.read = max(self.read, self.written - keep)
