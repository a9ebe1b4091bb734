"""Small stream parts on their own: the emotion shift curve, where changes
fade out, queues, the live headroom (on a real stream) and worker priority, presets (F0 is in
test_pitch.py)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from helpers import PATIENCE_S, STREAM_POLL_S, needs_jackd, wait_for

from rtconvert.bundle import load_bundle
from rtconvert.dsp.features import WorldFeatures
from rtconvert.engine.conversion import ENERGY_SMOOTHING_MS, ConversionStage
from rtconvert.engine.generator import IdentityConverter
from rtconvert.engine.prosody import MAX_ENERGY_SHIFT_DB, ProsodyShifter, shift_at
from rtconvert.engine.samplequeue import SampleQueue
from rtconvert.engine.speaker import SpeakerTracker
from rtconvert.errors import ConfigError
from rtconvert.live.headroom import AdaptiveHeadroom, headroom_samples
from rtconvert.live.rtthreads import realtime_priority, run_just_below
from rtconvert.live.stream import LiveConfig, LiveStream
from rtconvert.modelio import (
    DB_PER_LOG_POWER,
    SILENCE_BELOW_DB,
    EmotionShift,
    FrameChanges,
    SpeakerLevels,
)
from rtconvert.presets import PresetStore
from rtconvert.settings import Settings


def test_the_shift_is_zero_at_zero_and_the_measured_points_at_half_and_one():
    normal, strong = EmotionShift(0.2, 0.3, 4.0), EmotionShift(0.8, 0.5, 20.0)
    anchors = ((0.5, normal), (1.0, strong))
    assert shift_at(anchors, 0.0) == EmotionShift()
    assert shift_at(anchors, 0.5) == normal
    assert shift_at(anchors, 0.25).delta_lf0 == pytest.approx(0.1)
    at_one = shift_at(anchors, 1.0)
    assert (at_one.delta_lf0, at_one.log_sigma_ratio) == (0.8, 0.5)
    assert at_one.delta_c0_db == MAX_ENERGY_SHIFT_DB  # +20 dB of shouting is capped


class FixedChangeConverter(IdentityConverter):
    """Stands in for a generator: every call, the same energy change (dB, a scalar or one per
    frame) and aperiodicity change."""

    def __init__(self, n_mcep: int, n_bap: int, energy_db: float | np.ndarray,
                 bap_db: float = 0.0) -> None:
        super().__init__(n_mcep, n_bap)
        self.energy_db, self.bap_db = energy_db, bap_db

    def process(self, features: WorldFeatures, speaker: SpeakerLevels) -> FrameChanges:
        changes = super().process(features, speaker)
        changes.mcep[:, 0] = self.energy_db / DB_PER_LOG_POWER
        changes.bap[:] = self.bap_db
        return changes


def fixed_change_stage(bundle, energy_db: float | np.ndarray,
                       bap_db: float = 0.0) -> ConversionStage:
    config = bundle.features
    return ConversionStage(FixedChangeConverter(config.n_mcep, config.n_bap, energy_db, bap_db),
                           config.n_mcep, config.n_bap, config.frame_period_ms)


def test_changes_fade_out_below_speech_by_the_input_frames_level():
    """The room between words passes untouched; a speech frame gets the emotion's whole energy
    shift even where the generator made it quiet (a steady note once vanished that way)."""
    bundle = load_bundle()
    n_mcep, n_bap = bundle.features.n_mcep, bundle.features.n_bap
    stage = fixed_change_stage(bundle, energy_db=-30.0, bap_db=5.0)
    prosody = ProsodyShifter.from_bundle(bundle)
    speaker = SpeakerTracker.from_bundle(bundle).levels()
    room_db = -(SILENCE_BELOW_DB + 1.0)
    mcep = np.zeros((2, n_mcep))
    mcep[:, 0] = speaker.c0_mean + np.array([0.0, room_db]) / DB_PER_LOG_POWER
    condition = np.zeros((2, len(bundle.emotions)))
    condition[:, bundle.emotions.index("angry")] = 1.0
    frames = stage.process(WorldFeatures(np.array([150.0, 0.0]), mcep, np.zeros((2, n_bap))),
                           condition, speaker)
    _, out = prosody.process(frames, speaker)
    shift_db = shift_at(prosody.anchors["angry"], 1.0).delta_c0_db
    assert shift_db > 0
    assert (out[0, 0] - mcep[0, 0]) * DB_PER_LOG_POWER == pytest.approx(shift_db - 30.0)
    assert (out[1] == mcep[1]).all() and (frames.features.bap[1] == 0.0).all()
    assert (frames.features.bap[0] == 5.0).all()


def test_frames_leave_the_conversion_stage_with_their_own_condition_rows():
    """During a glide each frame keeps the emotion mixture it arrived with: the generator's
    lookahead delays the frames, and their condition rows with them."""
    bundle = load_bundle()
    n, n_mcep, n_bap, lookahead = 24, bundle.features.n_mcep, bundle.features.n_bap, 2
    stage = ConversionStage(IdentityConverter(n_mcep, n_bap, lookahead), n_mcep, n_bap,
                            bundle.features.frame_period_ms)
    f0 = 100.0 + np.arange(n)  # each frame tells its index
    condition = np.zeros((n, len(bundle.emotions)))
    condition[:, 0] = np.linspace(0.0, 1.0, n)  # a glide
    speaker = SpeakerTracker.from_bundle(bundle).levels()
    out = [stage.process(WorldFeatures(f0[i:i + 4], np.zeros((4, n_mcep)), np.zeros((4, n_bap))),
                         condition[i:i + 4], speaker) for i in range(0, n, 4)]
    f0_out = np.concatenate([o.features.f0_hz for o in out])
    rows = np.concatenate([o.condition for o in out])
    assert len(f0_out) == n - lookahead
    assert (f0_out == f0[:n - lookahead]).all()
    assert (rows == condition[:n - lookahead]).all()
    lf0 = np.concatenate([o.features.lf0 for o in out])
    assert lf0 == pytest.approx(np.log(f0[:n - lookahead]))


def test_the_generators_energy_change_is_smoothed_over_50_ms():
    bundle = load_bundle()
    n_mcep, n_bap, frame_ms = (bundle.features.n_mcep, bundle.features.n_bap,
                               bundle.features.frame_period_ms)
    n = 20 + round(400 / frame_ms)
    stage = fixed_change_stage(bundle, energy_db=np.where(np.arange(n) >= 20, -10.0, 0.0))
    speaker = SpeakerTracker.from_bundle(bundle).levels()
    mcep = np.zeros((n, n_mcep))
    mcep[:, 0] = speaker.c0_mean
    frames = stage.process(WorldFeatures(np.full(n, 150.0), mcep, np.zeros((n, n_bap))),
                           np.zeros((n, len(bundle.emotions))), speaker)
    change_db = (frames.features.mcep[:, 0] - mcep[:, 0]) * DB_PER_LOG_POWER
    assert (change_db[:20] == 0).all()
    after_50_ms = change_db[20 + round(ENERGY_SMOOTHING_MS / frame_ms) - 1]
    assert after_50_ms == pytest.approx(-10 * (1 - np.exp(-1)), abs=0.1)
    assert change_db[-1] == pytest.approx(-10, abs=0.01)


def test_sample_queue_pads():
    queue = SampleQueue(prefill=3)
    queue.push(np.arange(1.0, 5.0))
    out, missing = queue.pop(5)
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 2])
    assert missing == 0
    out, missing = queue.pop(4)
    np.testing.assert_array_equal(out, [3, 4, 0, 0])
    assert missing == 2


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def convert(headroom: AdaptiveHeadroom, clock: Clock, waited_s: float, level: float = 0.0):
    """One block arrives, the worker queues it ``waited_s`` later; returns what it queued."""
    headroom.arrived()
    clock.now += waited_s
    queued = headroom.adjust(np.full(headroom.block, level))
    clock.now += 0.001
    return queued


def test_the_headroom_grows_when_blocks_come_late_or_nearly_and_shrinks_when_calm():
    block, rate = 256, 48000
    clock, base = Clock(), headroom_samples(block, rate)
    headroom = AdaptiveHeadroom(base, block, rate, max_s=0.030, calm_s=10.0, clock=clock)
    assert (headroom.samples, headroom.limit) == (2 * block, 5 * block)  # 10.7 and 26.7 ms
    budget = base / rate
    assert len(convert(headroom, clock, 0.7 * budget)) == block  # in time: nothing changes
    # Nearly late (over 3/4 of the time it had): a block more, but only where it is quiet.
    assert len(convert(headroom, clock, 0.8 * budget, level=0.5)) == block
    assert (headroom.target, headroom.samples, headroom.nearly_late) == (3 * block, base, 1)
    queued = convert(headroom, clock, 0.1 * budget)
    assert len(queued) == 2 * block and not queued.any() and headroom.samples == 3 * block
    # A late block: the callback played a gap, which the headroom keeps.
    headroom.missed(block)
    convert(headroom, clock, 0.1 * budget)
    assert headroom.samples == headroom.target == 4 * block and headroom.late == 1
    # Never beyond the limit: a gap past it is taken back at the next quiet block.
    headroom.missed(2 * block)
    assert len(convert(headroom, clock, 0.1 * budget, level=0.5)) == block
    assert (headroom.target, headroom.samples) == (5 * block, 6 * block)
    assert len(convert(headroom, clock, 0.1 * budget)) == 0 and headroom.samples == 5 * block
    # Calm for calm_s: a block less at a time, down to the base and no further.
    for _ in range(100):
        clock.now += 1.0
        convert(headroom, clock, 0.1 * budget)
    assert headroom.samples == headroom.target == base


@pytest.fixture(scope="module")
def bundle():
    return load_bundle()


#: A real-time sleep that overruns by more than this was held up by the host (another thread
#: or process, the kernel, a paused virtual CPU): on this project's shared 2-core VMs even a
#: lone SCHED_FIFO thread's 7 ms sleeps overrun by up to 5 ms now and then.
HOST_DELAY_S = 0.001


class SlowWorker:
    """Stands in for the engine: every ``every``-th call takes ``seconds`` (as a step on a
    busy host might), the others nothing (its output: silence). Counts the slow calls that
    the host held up by more than :data:`HOST_DELAY_S` in all: called late after their
    block came (the worker woke late) or slept longer than asked. A late block after one is
    the host's, not the headroom's."""

    def __init__(self, live: LiveStream, every: int, seconds: float) -> None:
        self.every, self.seconds = every, seconds
        self.calls = self.held_up = 0
        self.live, self._returned = live, 0.0
        live.engine.process = self.process

    def process(self, block: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls % self.every == 0:
            # Ready since its block came, or since the last call returned if that was later.
            ready = max(self.live.headroom.pending_since(), self._returned)
            time.sleep(self.seconds)
            if time.perf_counter() - ready - self.seconds > HOST_DELAY_S:
                self.held_up += 1
        self._returned = time.perf_counter()
        return np.zeros(len(block))


def host_events(live: LiveStream, worker: SlowWorker) -> tuple[int, int]:
    """What the host did so far: conversions it held up, and JACK cycles it ran late (each an
    xrun, which PortAudio's JACK backend reports to the callback as a device underflow)."""
    return worker.held_up, live.status.output_underflows


def late_blocks_over(live: LiveStream, seconds: float) -> int:
    """Late blocks while the stream plays ``seconds`` of audio (counted in its callbacks, not
    in wall-clock time: a busy machine only makes it take longer)."""
    before, start = live.status.late_blocks, live.status.callbacks
    n = round(seconds * live.rate / live.config.block)
    assert wait_for(lambda: live.status.callbacks >= start + n, seconds + PATIENCE_S,
                    every_s=STREAM_POLL_S)
    return live.status.late_blocks - before


def settle(live: LiveStream, calm_s: float = 2.0) -> None:
    """Wait until the stream has played ``calm_s`` without a late block: the headroom settled."""
    seen = {"late": live.status.late_blocks, "since": live.status.callbacks}
    calm = round(calm_s * live.rate / live.config.block)

    def calm_for_long_enough() -> bool:
        if live.status.late_blocks != seen["late"]:
            seen.update(late=live.status.late_blocks, since=live.status.callbacks)
        return live.status.callbacks - seen["since"] >= calm

    assert wait_for(calm_for_long_enough, 60 + PATIENCE_S, every_s=STREAM_POLL_S), live.status


@needs_jackd
@pytest.mark.parametrize("block", [256, 512])
def test_a_worker_that_takes_most_of_the_headroom_is_never_late(jack_server, bundle, block):
    # The real stream on a JACK server, its headroom fixed: every fourth conversion takes
    # 70 % of the profile's headroom time (as a 20 ms step on a busy host might). Were the
    # headroom a block short, or the queue not prefilled with it, those blocks would be late.
    # Were the host to hold a conversion up, that block may be late: the host's doing, reported.
    live = LiveStream(bundle, LiveConfig(host_api="JACK", block=block, max_headroom_s=0.0))
    worker = SlowWorker(live, 4, 0.7 * live.engine.profile.headroom_s)
    live.start()
    warm_up_calls = worker.calls  # start() converted some silence before streaming
    try:
        before = host_events(live, worker)
        late = late_blocks_over(live, 4.0)
        held_up, xruns = np.subtract(host_events(live, worker), before)
    finally:
        live.stop()
    print(f"block {block}: {late} late blocks; the host held up {held_up} conversions and "
          f"ran JACK's cycle late {xruns} times")
    assert late <= held_up + xruns, live.status
    # The stream counts what the host decides too: a sleeping conversion waited (not on CPU).
    assert live.status.held_up >= (worker.calls - warm_up_calls) // worker.every > 0
    assert live.status.callbacks > 3.5 * 48000 / block
    assert live.headroom.samples == live.headroom.base


@needs_jackd
def test_a_worker_slower_than_the_headroom_makes_it_grow_until_nothing_is_late(jack_server,
                                                                                 bundle):
    live = LiveStream(bundle, LiveConfig(host_api="JACK", block=256))
    base_s = live.headroom_s
    worker = SlowWorker(live, 4, 1.3 * base_s)  # every fourth block would be late by 30 %
    live.start()
    try:
        settle(live)
        settled_s, before = live.headroom_s, host_events(live, worker)
        late = late_blocks_over(live, 4.0)
        status, final_s = live.status_line(), live.headroom_s
        host = sum(np.subtract(host_events(live, worker), before))
    finally:
        live.stop()
    print(f"settled at {1000 * settled_s:.1f} ms; then {late} late blocks, {host} times the "
          f"host held a conversion up or ran JACK's cycle late")
    assert 1.3 * base_s < settled_s <= live.headroom.limit / live.rate, (base_s, settled_s)
    # Once settled, neither late blocks nor growth, but where the host was late.
    assert late <= host, live.status
    assert final_s == settled_s or host, (settled_s, final_s)
    assert f"headroom {1000 * final_s:.1f}" in status
    algorithmic = live.engine.algorithmic_latency_s(256)
    assert live.latency_s == pytest.approx(algorithmic + final_s)


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


@needs_jackd
def test_a_fixed_headroom_never_moves_and_says_so(jack_server, bundle):
    """--fixed-headroom: a streamer sets OBS's sync offset once, so the latency must not move,
    even when blocks come late (they are counted instead); the status line and `ctl status`
    say it is fixed."""
    from rtconvert.control import Controller

    live = LiveStream(bundle, LiveConfig(host_api="JACK", block=256, fixed_headroom_s=0.012))
    fixed_s = live.headroom_s
    assert fixed_s == pytest.approx(3 * 256 / live.rate)  # 12 ms rounded up to whole blocks
    SlowWorker(live, 4, 1.3 * fixed_s)  # an adaptive headroom would grow past this
    live.start()
    try:
        late = late_blocks_over(live, 3.0)
        line = live.status_line()
        controller = Controller(bundle.emotions)
        controller.attach(live)
        status = controller.status()
    finally:
        live.stop()
    assert late > 0 and live.headroom_s == fixed_s
    assert f"headroom {1000 * fixed_s:.1f} fixed" in line
    assert status["headroom_fixed"] is True
    assert status["headroom_ms"] == pytest.approx(1000 * fixed_s, abs=0.01)
