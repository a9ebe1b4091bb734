"""Streaming converter: device-rate blocks in, same-size converted blocks out, a fixed delay later.

The engine wires the stages, each a small module with its own state, and runs them in
fixed steps on the model-rate stream (their length and lookahead: :mod:`.profiles`):
resampling (:mod:`.resample`), noise suppression where on (:mod:`.denoise`), the front
end's gain (:mod:`.normalizer`), analysis
(:mod:`.analysis`), speaker tracking (:mod:`.speaker`), conversion (:mod:`.conversion`),
prosody (:mod:`.prosody`), synthesis (:mod:`.synthesis`) and mixing (:mod:`.mixer`). It
applies the controls and times each stage and step (:mod:`.stagetimes`). Output waits in
a FIFO prefilled with just enough silence that a block can always be returned at once, so
the delay is constant and known exactly: ``Engine.delay_s``. Because every step sees the
same samples however the input was cut into blocks, the output does not depend on the
block size.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from time import perf_counter
from typing import Any

import numpy as np
import numpy.typing as npt

from ..bundle import Bundle
from ..dsp.analysis import AnalysisStep, StreamingAnalyzer
from ..dsp.denoise import Denoiser, stream_denoiser
from ..dsp.levels import SILENCE_DB, level_db, silence_nonfinite
from ..dsp.normalizer import LevelNormalizer
from ..dsp.resample import StreamResampler
from ..dsp.synthesis import StreamingSynthesizer
from ..profiles import PROFILES, LatencyProfile
from ..settings import Ramp, Settings
from .conversion import ConversionStage
from .f0trace import TRACE_S, F0Trace
from .generator import Converter, OnnxConverter
from .mixer import Gain, Gate, Mixer
from .prosody import ProsodyShifter
from .samplequeue import SampleQueue
from .speaker import RunningStats, SpeakerTracker
from .stagetimes import StageTimes

FloatArray = npt.NDArray[np.float64]

#: Time for the emotion mixture to swing fully (e.g. neutral to strong).
CONDITION_RAMP_S = 0.05


class Engine:
    """Converts a live mono stream at ``device_rate``.

    Parameters
    ----------
    bundle : Bundle
        The model and its prosody statistics.
    device_rate : int
        Sample rate of the blocks given to :meth:`process`.
    settings : Settings, optional
        Initial controls (default: ``Settings()``); change them any time with :meth:`update`
        (from any thread).
    converter : Converter, optional
        Defaults to the bundle's generator in ONNX Runtime (one thread).
    profile : LatencyProfile, optional
        Step length and analysis lookahead; defaults to the one the bundle was trained on.
    denoise : bool, optional
        Noise suppression in front of the analysis (:mod:`.denoise`); defaults to whether
        the bundle's model was trained on it.
    """

    def __init__(self, bundle: Bundle, device_rate: int, settings: Settings | None = None,
                 converter: Converter | None = None, profile: LatencyProfile | None = None,
                 denoise: bool | None = None) -> None:
        self.bundle, self.config, self.device_rate = bundle, bundle.features, device_rate
        self.emotions = bundle.emotions
        self._settings = (settings or Settings()).validate(self.emotions)
        self._lock = threading.Lock()
        self.profile = profile or PROFILES[bundle.latency_profile]
        self.frames_per_step, self.lookahead_frames = self.profile.geometry(self.config)
        self.conversion = ConversionStage(converter or OnnxConverter(bundle), self.config.n_mcep,
                                          self.config.n_bap, self.config.frame_period_ms)
        self.denoise = bundle.denoise if denoise is None else denoise
        # A step runs when its last frame's lookahead arrives (through the noise suppressor),
        # and its output ends where the converter's lookahead lets it: a sample arriving just
        # after a step waits this long.
        self.model_delay = self.config.hop_length * (
            self.frames_per_step + self.conversion.lookahead_frames + self.lookahead_frames) \
            + (self.new_denoiser().latency_samples if self.denoise else 0)
        self.speaker = SpeakerTracker.from_bundle(bundle)
        self.prosody = ProsodyShifter.from_bundle(bundle)
        self.reset()

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

    def reset(self) -> None:
        """Start a new stream: empty buffers, prior statistics, silence in the pipeline."""
        config, rate = self.config, self.config.sample_rate
        self._down = StreamResampler(self.device_rate, rate)
        self._up = StreamResampler(rate, self.device_rate)
        self.normalizer = LevelNormalizer()
        self.denoiser = self.new_denoiser() if self.denoise else None
        self.analyzer = StreamingAnalyzer(config, self.frames_per_step, self.lookahead_frames)
        self.conversion.reset()
        self.speaker.reset()
        self.synthesizer = StreamingSynthesizer(config)
        self.f0_trace = F0Trace(TRACE_S, config.frame_period_ms)  # for display
        self.gate, self.mixer = Gate(), Mixer(rate, self._settings.output_gain_db)
        self._input_gain = Gain(self._settings.input_gain_db)
        self._condition = Ramp(self._settings.condition(self.emotions),
                               CONDITION_RAMP_S * rate / config.hop_length)
        self._output = SampleQueue(self.prefill)
        self._target: tuple[Settings, FloatArray] | None = None  # the condition of settings
        self.times = StageTimes()  # seconds per stage and per step
        self.missing_samples = 0  # FIFO underflows: would mean the delay is too short
        self.nonfinite_samples = 0
        self.input_db = self.output_db = SILENCE_DB

    def new_denoiser(self) -> Denoiser:
        """A fresh noise suppressor of the kind this engine runs (for a pass over a file)."""
        return stream_denoiser(self.config, self.frames_per_step, self.lookahead_frames)

    @property
    def f0_stats(self) -> RunningStats:
        """The live speaker's running log-F0 statistics."""
        return self.speaker.lf0

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
        block, n_bad = silence_nonfinite(block)
        self.nonfinite_samples += n_bad
        block = self._input_gain.process(block, self._settings.input_gain_db)
        self.input_db = level_db(block)
        times = self.times
        model_input = times.run("resampling", self._down.process, block)
        heard = model_input if self.denoiser is None else \
            times.run("denoising", self.denoiser.process, model_input)
        self.analyzer.push(self.normalizer.process(heard))
        self.mixer.push_dry(model_input)
        while True:
            began = perf_counter()
            step = times.run("analysis", self.analyzer.next_step)
            if step is None:
                break
            self._output.push(times.run("resampling", self._up.process, self._run_step(step)))
            times.step_done(perf_counter() - began)
        out, missing = self._output.pop(len(block))
        self.missing_samples += missing
        self.output_db = level_db(out)
        return out

    def _run_step(self, step: AnalysisStep) -> FloatArray:
        """Convert one step's frames; returns the model-rate samples that became final."""
        settings, features, times = self._settings, step.features, self.times
        if self._target is None or self._target[0] is not settings:
            self._target = (settings, settings.condition(self.emotions))
        condition = self._condition.step(self._target[1], features.n_frames)
        step_s = features.n_frames * self.config.hop_length / self.config.sample_rate
        # The gate reads the input's own level: the normaliser's gain taken off again.
        gate_open = self.gate.process(step.level_db - self.normalizer.gain_db, settings.gate_db,
                                      step_s)
        if gate_open:
            times.run("speaker", self.speaker.observe, features)
        speaker = self.speaker.levels()
        frames = times.run("model", self.conversion.process, features, condition, speaker)
        if not frames.n_frames:
            return np.zeros(0)
        f0, mcep = times.run("prosody", self.prosody.process, frames, speaker)
        self.f0_trace.push(frames.features.f0_hz, f0)
        wet = self.normalizer.restore(
            times.run("synthesis", self.synthesizer.process, f0, mcep, frames.features.bap))
        return self.mixer.process(wet, 0.0 if settings.bypass or not gate_open else 1.0,
                                  settings.output_gain_db)

    def stage_shares(self) -> dict[str, float]:
        """Each stage's share of the time spent in all of them (``STAGES``)."""
        return self.times.shares()

