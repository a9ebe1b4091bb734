"""The streaming converter: device-rate blocks in, converted blocks of the same size out, a fixed delay later.

Per block: resample to the model rate; cut the stream into 20 ms steps of WORLD
analysis (:mod:`.analysis`); per step run the generator on the new mel-cepstra
(:mod:`.model`), move F0 and energy toward the emotion (:mod:`.prosody`), synthesise
(:mod:`.synthesis`), cross-fade with the input where the gate or bypass says so, and
resample back (:mod:`.resample`). Output waits in a FIFO prefilled with just enough
silence that a block can always be returned at once, so the delay is constant and
known exactly: ``Engine.delay_s``.

Everything after the resamplers runs in fixed steps on the model-rate stream, so the
output does not depend on how the input was cut into blocks.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Iterator

import numpy as np
import numpy.typing as npt
import soxr

from .analysis import AnalysisStep, StreamingAnalyzer, level_db
from .bundle import Bundle
from .controls import Ramp, Settings
from .model import Converter, FrameDelay, OnnxConverter
from .features import MIN_DURATION_S, analyze
from .prosody import (DB_PER_LOG_POWER, EmotionShift, RunningLogF0Stats, shift_at,
                      shift_log_f0, voiced_log_f0)
from .resample import StreamResampler
from .samplequeue import SampleQueue
from .synthesis import StreamingSynthesizer

FloatArray = npt.NDArray[np.float64]

#: Frames analysed, converted and synthesised per step: 20 ms. Each step costs a fixed
#: overhead (ONNX Runtime's graph, pyworld calls), so 10 ms steps would cost ~1.5x the
#: processing time for 10 ms less latency (measured by ``rtconvert bench``).
FRAMES_PER_STEP = 4
#: Future the F0 and envelope analysis of a frame waits for; beyond it, the mirror image.
ANALYSIS_LOOKAHEAD_S = 0.010
#: Time for the emotion mixture to swing fully (e.g. neutral to strong), and for the
#: output to cross-fade between converted speech and input (gate, bypass).
CONDITION_RAMP_S = 0.05
CROSSFADE_S = 0.02
#: The gate stays open this long after the level falls below its threshold.
GATE_HOLD_S = 0.15
GATE_HYSTERESIS_DB = 3.0
#: Stages the engine times; ``Engine.timings`` holds seconds spent in each.
STAGES = ("analysis", "model", "prosody", "synthesis", "resampling")
#: Converted F0 is kept inside this range (Hz): past it WORLD's pulses stop sounding like voice.
F0_LIMITS_HZ = (40.0, 1100.0)


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


class Engine:
    """Converts a live mono stream at ``device_rate``.

    Parameters
    ----------
    bundle : Bundle
        The model and its prosody statistics.
    device_rate : int
        Sample rate of the blocks given to :meth:`process`.
    settings : Settings
        Initial controls; change them any time with :meth:`update` (from any thread).
    converter : Converter, optional
        Defaults to the bundle's generator in ONNX Runtime (one thread).
    """

    def __init__(self, bundle: Bundle, device_rate: int, settings: Settings = Settings(),
                 converter: Converter | None = None) -> None:
        self.bundle = bundle
        self.config = bundle.features
        self.device_rate = device_rate
        self.emotions = bundle.emotions
        self._settings = settings.validate(self.emotions)
        self._lock = threading.Lock()
        self.converter = converter if converter is not None else OnnxConverter(bundle)
        rate, hop = self.config.sample_rate, self.config.hop_length
        self.lookahead_samples = round(ANALYSIS_LOOKAHEAD_S * rate)
        # A step runs when its last frame's lookahead arrives; its output ends where the
        # converter's lookahead lets it (see ``_run_step``). The worst case, a sample
        # arriving just after a step ran, waits this long at the model rate:
        self.model_delay = (FRAMES_PER_STEP + self.converter.lookahead_frames) * hop \
            + self.lookahead_samples
        self._shifts = {e: (self._shift(e, "normal"), self._shift(e, "strong"))
                        for e in self.emotions}
        self.reset()

    def _shift(self, emotion: str, intensity: str) -> EmotionShift:
        shift = self.bundle.prosody[emotion][intensity]
        return EmotionShift(shift.delta_lf0, math.log(shift.sigma_ratio), shift.delta_c0_db)

    # -- controls, safe from any thread ------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def update(self, **changes: Any) -> Settings:
        """Change controls (fields of :class:`Settings`); raises ConfigError if invalid.

        The audio thread picks the new settings up at its next step and glides to them.
        """
        with self._lock:
            self._settings = replace(self._settings, **changes).validate(self.emotions)
            return self._settings

    # -- the stream --------------------------------------------------------------------

    def reset(self) -> None:
        """Start a new stream: empty buffers, prior statistics, silence in the pipeline."""
        config = self.config
        rate = config.sample_rate
        self._down = StreamResampler(self.device_rate, rate)
        self._up = StreamResampler(rate, self.device_rate)
        self.analyzer = StreamingAnalyzer(config, FRAMES_PER_STEP, self.lookahead_samples)
        self.converter.reset()
        lookahead = self.converter.lookahead_frames
        self._f0_delay = FrameDelay(lookahead, 1)
        self._bap_delay = FrameDelay(lookahead, config.n_bap)
        self._frames_to_skip = lookahead  # the converter's first outputs precede the stream
        self.synthesizer = StreamingSynthesizer(config)
        self.f0_stats = RunningLogF0Stats(*self.bundle.lf0_prior)
        settings = self._settings
        self._condition = Ramp(settings.condition(self.emotions),
                               CONDITION_RAMP_S * rate / config.hop_length)
        self._wet = Ramp(0.0, CROSSFADE_S * rate)  # the gate opens on the first speech
        self._gate_open, self._below_since = False, 0.0
        self._output_start = 0  # model-rate index of the next synthesised sample
        self._output = SampleQueue(self.prefill)
        self._input_gain = db_to_gain(settings.input_gain_db)
        self._output_gain = db_to_gain(settings.output_gain_db)
        self.timings: dict[str, float] = defaultdict(float)
        self.missing_samples = 0  # FIFO underflows: would mean the delay is too short
        self.nonfinite_samples = 0
        self.input_db = self.output_db = -120.0

    def warm_up(self) -> None:
        """Convert 0.2 s of a buzzy vowel, then start afresh: first-call costs (ONNX Runtime's
        buffers, FFT plans, pyworld's voiced paths) are then not paid in the first real blocks."""
        t = np.arange(self.device_rate // 5) / self.device_rate
        vowel = 0.1 * sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20))
        for start in range(0, len(vowel), 256):
            self.process(vowel[start:start + 256])
        self.reset()

    @property
    def prefill(self) -> int:
        """Device-rate samples of silence the output FIFO starts with."""
        ratio = self.device_rate / self.config.sample_rate
        # The resamplers each hold back about a sample at their input rate.
        return math.ceil(self.model_delay * ratio) + math.ceil(2 * ratio) + 2

    @property
    def delay_s(self) -> float:
        """Exactly how much later than its input an output sample comes out of ``process``."""
        return self.prefill / self.device_rate + self._down.delay_s + self._up.delay_s

    def algorithmic_latency_s(self, block_size: int) -> float:
        """Delay through a duplex audio callback: the engine's plus one block being captured."""
        return self.delay_s + block_size / self.device_rate

    def process(self, block: npt.ArrayLike) -> FloatArray:
        """Convert one block; returns as many samples, ``delay_s`` late.

        Non-finite samples (a misbehaving driver) are replaced by silence and counted in
        ``nonfinite_samples``.
        """
        block = np.asarray(block, dtype=np.float64)
        if block.ndim != 1:
            raise ValueError(f"expected a mono block of shape (n,), got {block.shape}")
        finite = np.isfinite(block)
        if not finite.all():
            self.nonfinite_samples += int(np.count_nonzero(~finite))
            block = np.where(finite, block, 0.0)
        settings = self._settings
        n = len(block)
        block = block * self._gain_ramp("_input_gain", settings.input_gain_db, n)
        self.input_db = level_db(block)
        with self._timed("resampling"):
            model_input = self._down.process(block)
        self.analyzer.push(model_input)
        while True:
            with self._timed("analysis"):
                step = self.analyzer.next_step()
            if step is None:
                break
            converted = self._run_step(step)
            with self._timed("resampling"):
                self._output.push(self._up.process(converted))
        out, missing = self._output.pop(n)
        self.missing_samples += missing
        out = out * self._gain_ramp("_output_gain", settings.output_gain_db, n)
        self.output_db = level_db(out)
        return out

    def _gain_ramp(self, attribute: str, db: float, n: int) -> FloatArray | float:
        """A gain that glides across the block when it changed (no zipper clicks)."""
        previous, gain = getattr(self, attribute), db_to_gain(db)
        if previous == gain:
            return gain
        setattr(self, attribute, gain)
        return np.linspace(previous, gain, n + 1)[1:]

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[stage] += time.perf_counter() - start

    def _run_step(self, step: AnalysisStep) -> FloatArray:
        """Convert one step's frames; returns the model-rate samples that became final."""
        settings = self._settings
        features = step.features
        n = features.n_frames
        condition = self._condition.step(settings.condition(self.emotions), n)
        gate_open = self._gate(step.level_db, settings.gate_db)
        with self._timed("model"):
            self.converter.set_condition(condition[-1])
            mcep = self.converter.process(features.mcep)
        with self._timed("prosody"):
            voiced = features.f0_hz > 0
            if gate_open and voiced.any():
                self.f0_stats.update(np.log(features.f0_hz[voiced]))
            f0 = self._f0_delay.push(features.f0_hz[:, None])[:, 0]
            bap = self._bap_delay.push(features.bap)
            skip = min(self._frames_to_skip, n)
            self._frames_to_skip -= skip
            f0, mcep, bap, condition = f0[skip:], mcep[skip:], bap[skip:], condition[skip:]
            if not len(f0):
                return np.zeros(0)
            f0, mcep = self._move_prosody(f0, mcep, condition)
        with self._timed("synthesis"):
            wet = self.synthesizer.process(f0, mcep, bap)
        start = self._output_start
        self._output_start += len(wet)
        dry = self.analyzer.samples(start, start + len(wet))
        mix = self._wet.step(0.0 if settings.bypass or not gate_open else 1.0, len(wet))[:, 0]
        return mix * wet + (1.0 - mix) * dry

    def _move_prosody(self, f0: FloatArray, mcep: FloatArray,
                      condition: FloatArray) -> tuple[FloatArray, FloatArray]:
        """F0 and energy of each frame moved by the emotion mixture of its condition row."""
        stats = self.f0_stats.stats()
        voiced = f0 > 0
        lf0 = np.log(np.where(voiced, f0, 1.0))
        mcep = mcep.copy()
        # Rows differ only while the mixture glides; otherwise one shift serves all frames.
        if (condition == condition[0]).all():
            groups = [(condition[0], np.ones(len(f0), dtype=bool))]
        else:
            groups = [(row, np.arange(len(f0)) == i) for i, row in enumerate(condition)]
        for row, frames in groups:
            shift = sum((shift_at(*self._shifts[e], float(x))
                         for e, x in zip(self.emotions, row) if x > 0), EmotionShift())
            if shift == EmotionShift():
                continue
            lf0[frames] = shift_log_f0(lf0[frames], voiced[frames], stats, shift.delta_lf0,
                                       math.exp(shift.log_sigma_ratio), 1.0)
            mcep[frames, 0] += shift.delta_c0_db / DB_PER_LOG_POWER
        f0 = np.where(voiced, np.clip(np.exp(lf0), *F0_LIMITS_HZ), 0.0)
        return f0, mcep

    def _gate(self, level: float, threshold: float) -> bool:
        """Open above the threshold; close once the level stayed below it for the hold time."""
        step_s = FRAMES_PER_STEP * self.config.frame_period_ms / 1000
        if level > threshold + (0.0 if self._gate_open else GATE_HYSTERESIS_DB):
            self._gate_open, self._below_since = True, 0.0
        elif self._gate_open:
            self._below_since += step_s
            if self._below_since >= GATE_HOLD_S:
                self._gate_open = False
        return self._gate_open

    def stage_shares(self) -> dict[str, float]:
        """Each stage's share of the time spent in all of them."""
        total = sum(self.timings[s] for s in STAGES) or 1.0
        return {s: self.timings[s] / total for s in STAGES}


def convert_signal(engine: Engine, samples: FloatArray, block_size: int | None = None,
                   prime_statistics: bool = True) -> FloatArray:
    """Stream a whole signal through ``engine`` and return it aligned with the input.

    ``block_size`` None feeds it in one block; either way the same steps run. With
    ``prime_statistics`` the speaker's log-F0 statistics are measured over the whole
    signal first, as a live stream would have learnt them after a few sentences.
    """
    if prime_statistics:
        config = engine.config
        at_model_rate = soxr.resample(samples, engine.device_rate, config.sample_rate, "HQ")
        if len(at_model_rate) >= MIN_DURATION_S * config.sample_rate:
            engine.f0_stats.prime(voiced_log_f0(analyze(at_model_rate, config).f0_hz))
    delay = round(engine.delay_s * engine.device_rate)
    padded = np.concatenate([samples, np.zeros(delay)])
    size = len(padded) if block_size is None else block_size
    out = np.concatenate([engine.process(padded[i:i + size])
                          for i in range(0, len(padded), size)])
    return out[delay:delay + len(samples)]
