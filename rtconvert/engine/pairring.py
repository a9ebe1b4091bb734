"""A fixed two-row ring that one thread fills and others copy from, with no lock on either side."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Slots a reader leaves out at the old end, where the writer may be overwriting them.
READ_MARGIN = 1024


class PairRing:
    """The last ``capacity - margin`` pairs of values of two aligned streams.

    One writer fills preallocated slots and only then publishes the new count
    (:attr:`count`); readers copy what is published. Neither waits on the other: a
    reader leaves out the oldest ``margin`` slots, the only ones the writer could be
    overwriting meanwhile, as long as it pushes fewer than ``margin`` values during a read.

    Parameters
    ----------
    capacity : int
        Slots per row.
    dtype : numpy dtype
        Of both rows.
    margin : int
        Slots a reader leaves out.
    """

    def __init__(self, capacity: int, dtype: npt.DTypeLike = np.float64,
                 margin: int = READ_MARGIN) -> None:
        if capacity <= margin:
            raise ValueError(f"capacity {capacity} must exceed the read margin {margin}")
        self._rows = np.zeros((2, capacity), dtype=dtype)
        self.margin = margin
        self.count = 0  # values pushed since the start

    def push(self, first: npt.NDArray, second: npt.NDArray) -> None:
        """Append aligned values, shapes (n,) each. Safe on an audio thread: copies only."""
        capacity = self._rows.shape[1]
        n = len(first)
        skip = max(0, n - capacity)
        start = (self.count + skip) % capacity
        head = min(n - skip, capacity - start)
        for row, values in enumerate((first, second)):
            self._rows[row, start:start + head] = values[skip:skip + head]
            self._rows[row, :n - skip - head] = values[skip + head:]
        self.count += n

    def latest(self, n: int | None = None) -> npt.NDArray:
        """The newest ``n`` published pairs (all readable ones if None), oldest first: (2, n)."""
        count, capacity = self.count, self._rows.shape[1]
        readable = min(count, capacity - self.margin)
        n = readable if n is None else min(n, readable)
        return self._rows[:, np.arange(count - n, count) % capacity]
