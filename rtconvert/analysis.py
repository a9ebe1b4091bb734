"""Streaming WORLD analysis: a few new frames per step, each read from a fixed window around it.

The stream is cut into steps of ``frames_per_step`` frames. A step runs once the
samples up to ``lookahead_samples`` past its last frame have arrived, and analyses its
frames from a window of ``CONTEXT_SAMPLES`` of past, the step and the lookahead. Past
the lookahead the window is continued by its own mirror image: CheapTrick, D4C and YIN
read up to ~30 ms beyond a frame, and a mirrored voiced signal keeps its period where
silence or repeated samples would not. Every frame sees the same window however the
input was cut into blocks, so the analysis is block-size invariant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .config import FeatureConfig
from .features import (WorldFeatures, aperiodicity, encode_aperiodicity, encode_envelope,
                       refine_f0, spectral_envelope)
from .pitch import yin_f0

FloatArray = npt.NDArray[np.float64]

#: Past samples in each window: D4C's widest window at 71 Hz reads ~28 ms back.
CONTEXT_SAMPLES = 1080
#: Mirrored samples appended past the lookahead, for the same reason forward.
MIRROR_SAMPLES = 1080
#: D4C runs on every fourth frame and the band aperiodicity of the others is
#: interpolated: D4C costs ~0.3 ms per voiced frame, a third of the engine's time if run
#: on all, and three bands in dB change slowly enough that 20 ms resolution does not
#: matter (voicing itself follows F0 frame by frame).
APERIODICITY_EVERY = 4


def level_db(samples: FloatArray) -> float:
    """RMS level in dB re full scale; -120 for silence."""
    if not len(samples):
        return -120.0
    return max(-120.0, 10.0 * float(np.log10(np.mean(samples ** 2) + 1e-12)))


@dataclass
class AnalysisStep:
    """The frames of one step and how loud their neighbourhood was."""

    first_frame: int  # stream frame index of features' first row
    features: WorldFeatures
    level_db: float  # RMS of the newest step of samples, dB re full scale


class StreamingAnalyzer:
    """Turns model-rate samples into WORLD frames, ``frames_per_step`` at a time.

    Parameters
    ----------
    config : FeatureConfig
    frames_per_step : int
        Frames analysed per step; a step is ``frames_per_step * hop_length`` samples.
    lookahead_samples : int
        Samples a step waits for past its last frame's centre.
    """

    def __init__(self, config: FeatureConfig, frames_per_step: int,
                 lookahead_samples: int) -> None:
        if CONTEXT_SAMPLES % config.hop_length:
            raise ValueError("the past context must be a whole number of frames")
        self.config = config
        self.frames_per_step = frames_per_step
        self.lookahead_samples = lookahead_samples
        self.step_samples = frames_per_step * config.hop_length
        self.reset()

    def reset(self) -> None:
        # The stream is preceded by silence, so early windows look like later ones.
        self._buffer = np.zeros(CONTEXT_SAMPLES)
        self._buffer_start = -CONTEXT_SAMPLES  # stream index of _buffer[0]
        self._next_frame = 0
        self._last_bap: FloatArray | None = None  # of the previous step's last frame

    @property
    def received(self) -> int:
        """Samples of the stream received so far."""
        return self._buffer_start + len(self._buffer)

    def samples(self, start: int, stop: int) -> FloatArray:
        """Stream samples ``start:stop`` still held (the current step's past context)."""
        if start < self._buffer_start or stop > self.received:
            raise IndexError(f"samples {start}:{stop} are not held "
                             f"({self._buffer_start}:{self.received})")
        return self._buffer[start - self._buffer_start:stop - self._buffer_start]

    def push(self, samples: FloatArray) -> None:
        """Append samples to the stream."""
        self._buffer = np.concatenate([self._buffer, samples])

    def next_step(self) -> AnalysisStep | None:
        """Analyse the oldest step whose samples have all arrived; None if there is none."""
        hop = self.config.hop_length
        last_frame = self._next_frame + self.frames_per_step - 1
        if self.received <= last_frame * hop + self.lookahead_samples:
            return None
        step = self._step()
        self._next_frame += self.frames_per_step
        # Keep what the next step's window needs; ``samples`` serves from the same.
        keep_from = self._next_frame * hop - CONTEXT_SAMPLES
        self._buffer = self._buffer[keep_from - self._buffer_start:]
        self._buffer_start = keep_from
        return step

    def _step(self) -> AnalysisStep:
        hop = self.config.hop_length
        first = self._next_frame
        start = first * hop - CONTEXT_SAMPLES
        stop = (first + self.frames_per_step - 1) * hop + self.lookahead_samples + 1
        real = self.samples(start, stop)
        window = np.concatenate([real, real[-2:-MIRROR_SAMPLES - 2:-1]])
        centres = CONTEXT_SAMPLES + hop * np.arange(self.frames_per_step)
        times_s = centres / self.config.sample_rate
        coarse = yin_f0(window, centres, self.config)
        f0 = refine_f0(window, coarse, times_s, self.config)
        envelope = spectral_envelope(window, f0, times_s, self.config)
        features = WorldFeatures(f0, encode_envelope(envelope, self.config),
                                 self._band_aperiodicity(window, f0, times_s))
        return AnalysisStep(first, features, level_db(real[-self.step_samples:]))

    def _band_aperiodicity(self, window: FloatArray, f0: FloatArray,
                           times_s: FloatArray) -> FloatArray:
        """D4C on every ``APERIODICITY_EVERY``-th frame, linear in between."""
        every = APERIODICITY_EVERY
        chosen = slice(every - 1, None, every)
        measured = encode_aperiodicity(
            aperiodicity(window, f0[chosen].copy(), times_s[chosen].copy(), self.config),
            self.config)
        before = measured[0] if self._last_bap is None else self._last_bap
        anchors = np.vstack([before, measured])
        frame = np.arange(len(f0))
        weight = ((frame % every + 1) / every)[:, None]
        segment = frame // every
        self._last_bap = measured[-1]
        return anchors[segment] * (1 - weight) + anchors[segment + 1] * weight
