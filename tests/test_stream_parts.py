"""Small stream parts on their own: the emotion shift curve, running statistics, queues, the
live headroom and worker priority, presets (F0 is in test_pitch.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rtconvert.controls import Settings
from rtconvert.errors import ConfigError
from rtconvert.headroom import HEADROOM_S, headroom_samples
from rtconvert.presets import PresetStore
from rtconvert.prosody import MAX_ENERGY_SHIFT_DB, EmotionShift, RunningStats, shift_at
from rtconvert.rtthreads import realtime_priority, run_just_below
from rtconvert.samplequeue import SampleQueue


def test_the_shift_is_zero_at_zero_and_the_measured_points_at_half_and_one():
    normal, strong = EmotionShift(0.2, 0.3, 4.0), EmotionShift(0.8, 0.5, 20.0)
    anchors = ((0.5, normal), (1.0, strong))
    assert shift_at(anchors, 0.0) == EmotionShift()
    assert shift_at(anchors, 0.5) == normal
    assert shift_at(anchors, 0.25).delta_lf0 == pytest.approx(0.1)
    at_one = shift_at(anchors, 1.0)
    assert (at_one.delta_lf0, at_one.log_sigma_ratio) == (0.8, 0.5)
    assert at_one.delta_c0_db == MAX_ENERGY_SHIFT_DB  # +20 dB of shouting is capped


def test_running_statistics_start_at_the_prior_and_converge():
    stats = RunningStats(np.log(200.0), 0.2)
    assert stats.mean == pytest.approx(np.log(200.0)) and stats.std == pytest.approx(0.2)
    voice = np.log(110.0) + 0.1 * np.random.default_rng(0).standard_normal(3000)
    stats.update(voice[:200])  # one second of voiced speech
    assert abs(stats.mean - np.log(110.0)) < 0.1 * abs(np.log(200.0) - np.log(110.0))
    stats.update(voice[200:])  # the spread forgets the move from the prior more slowly
    assert stats.std == pytest.approx(0.1, rel=0.15)
    frozen = stats.mean
    stats.update(np.zeros(0))  # silence: nothing voiced
    assert stats.mean == frozen


def test_sample_queue_pads_and_trims():
    queue = SampleQueue(prefill=3)
    queue.push(np.arange(1.0, 5.0))
    out, missing = queue.pop(5)
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 2])
    assert missing == 0
    out, missing = queue.pop(4)
    np.testing.assert_array_equal(out, [3, 4, 0, 0])
    assert missing == 2
    queue.push(np.arange(10.0))
    queue.trim(4)
    np.testing.assert_array_equal(queue.pop_all(), [6, 7, 8, 9])


@pytest.mark.parametrize("block", [1, 64, 256, 441, 480, 1024, 4096])
def test_a_worker_that_takes_the_headroom_time_per_block_is_never_late(block):
    # Callback k (at k periods) queues block k and pops a block of output; the worker
    # pushes block k's conversion HEADROOM_S later. The callback must never find it missing.
    rate = 48000
    headroom = headroom_samples(block, rate)
    assert headroom % block == 0 and headroom >= block
    assert headroom >= HEADROOM_S * rate > headroom - block or headroom == block
    period, callbacks = block / rate, 3 * headroom // block + 10
    finishes = [k * period + max(HEADROOM_S, period) for k in range(callbacks)]
    queue, converted = SampleQueue(headroom), 0
    for k in range(callbacks):
        while converted < k and finishes[converted] <= k * period + 1e-12:
            queue.push(np.ones(block))
            converted += 1
        _, missing = queue.pop(block)
        assert missing == 0, f"callback {k} found its block missing"


def test_the_worker_runs_just_below_the_callback_and_never_above_an_ordinary_one():
    def in_thread(function):
        result = []
        thread = threading.Thread(target=lambda: result.append(function()))
        thread.start()
        thread.join()
        return result[0]

    def below(priority):
        run_just_below(priority)
        return realtime_priority()

    assert in_thread(realtime_priority) is None  # ordinary threads have none
    assert in_thread(lambda: below(None)) is None  # an ordinary callback: stay ordinary
    assert in_thread(lambda: below(1)) is None  # nothing below the lowest real-time priority
    if in_thread(lambda: below(66)) is None:
        pytest.skip("this system does not allow real-time scheduling")
    assert in_thread(lambda: below(66)) == 65 and in_thread(lambda: below(6)) == 5


def test_presets_survive_infinity_and_reject_a_corrupt_file(tmp_path):
    path = tmp_path / "presets.json"
    PresetStore(path).save("no gate", Settings(emotion="sad", gate_db=-np.inf))
    assert PresetStore(path).presets["no gate"] == Settings(emotion="sad", gate_db=-np.inf)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not a presets file"):
        PresetStore(path)
