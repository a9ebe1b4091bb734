"""The callback's rings: first in first out, wrap-around, overflow, and two threads at once."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rtconvert.live.ring import SampleRing


def test_samples_come_out_in_order_across_the_wrap():
    ring = SampleRing(10, prefill=3)
    out = np.empty(4)
    for start in range(0, 60, 6):  # writes of 6, reads of 4 and 2: the ends wrap often
        assert ring.write(np.arange(start, start + 6.0)) == 0
        assert ring.read_into(out) == 0
        first = out.copy()
        rest = np.empty(2)
        assert ring.read_into(rest) == 0
        expected = np.arange(start - 3, start + 3.0)
        expected[expected < 0] = 0.0  # the prefill is silence
        np.testing.assert_array_equal(np.concatenate([first, rest]), expected)


def test_a_full_ring_drops_what_does_not_fit_and_an_empty_one_pads():
    ring = SampleRing(8)
    assert ring.write(np.arange(12.0)) == 4
    out = np.full(10, -1.0)
    assert ring.read_into(out) == 2
    np.testing.assert_array_equal(out, [0, 1, 2, 3, 4, 5, 6, 7, 0, 0])
    ring.write(np.arange(6.0))
    ring.skip_beyond(2)
    np.testing.assert_array_equal(ring.read_all(), [4.0, 5.0])
    with pytest.raises(ValueError, match="prefill"):
        SampleRing(4, prefill=5)


def test_a_writer_and_a_reader_thread_never_lose_or_reorder_a_sample():
    ring, total = SampleRing(1000, dtype=np.float64), 200_000
    received: list[np.ndarray] = []

    def write() -> None:
        sent = 0
        while sent < total:
            n = min(257, total - sent)
            dropped = ring.write(np.arange(sent, sent + n, dtype=np.float64))
            sent += n - dropped  # the rest again, once the reader made room

    def read() -> None:
        got = 0
        while got < total:
            block = ring.read_all()
            received.append(block)
            got += len(block)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    np.testing.assert_array_equal(np.concatenate(received), np.arange(total, dtype=np.float64))
