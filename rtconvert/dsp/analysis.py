"""Streaming WORLD analysis: a few new frames per step, each read from a fixed window around it.

The stream is cut into steps of ``frames_per_step`` frames. A step runs once the
samples up to ``lookahead_frames`` past its last frame have arrived, and analyses its
frames from a window of ``CONTEXT_S`` of past (rounded up to whole frames), the step
and the lookahead. Past
the lookahead the window is continued by its own mirror image: CheapTrick, D4C and the
F0 tracker read up to ~30 ms beyond a frame, and a mirrored voiced signal keeps its
period where silence or repeated samples would not. Every frame sees the same window
however the input was cut into blocks, and the F0 tracker's state (:class:`.pitch.PitchTracker`)
changes once per step, in order, so the analysis is block-size invariant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..config import FeatureConfig
from ..errors import ConfigError
from .features import (
    WorldFeatures,
    aperiodicity,
    encode_aperiodicity,
    encode_envelope,
    spectral_envelope,
)
from .levels import level_db
from .pitch import PitchTracker, half_span, refine_causal

FloatArray = npt.NDArray[np.float64]

#: Changes whenever the streaming analysis (or training's front end before it: v4 hears a take
#: at the normaliser's level) gives other features for the same signal
#: (feature caches made by training are keyed by it). v5: D4C's frame in short-lookahead steps.
ANALYSIS_VERSION = 5
#: Past signal in each window: D4C's widest window at 71 Hz reads ~28 ms back.
CONTEXT_S = 0.045
#: Mirrored signal appended past the lookahead, for the same reason forward.
MIRROR_S = 0.045
#: D4C runs on every fourth frame and the band aperiodicity of the others is
#: interpolated: D4C costs ~0.3 ms per voiced frame, a third of the engine's time if run
#: on all, and three bands in dB change slowly enough that 20 ms resolution does not
#: matter (voicing itself follows F0 frame by frame).
APERIODICITY_EVERY = 4
#: Real signal D4C needs past the frame it measures: its windows reach further than this
#: (~3 periods), and with less it reads mostly the mirror. With 5 ms of lookahead the
#: measured frame moves a frame back and the frames after it take its value; in a room
#: that raised an offline resynthesis's DNSMOS from 1.66 to 1.68 (balanced: 1.69) and the
#: low model's recognition by 1-2 points on every set (docs/quality.md).
APERIODICITY_LOOKAHEAD_S = 0.010


def context_samples(config: FeatureConfig) -> int:
    """Past samples in each analysis window: ``CONTEXT_S`` rounded up to whole frames."""
    return config.hop_length * math.ceil(CONTEXT_S * config.sample_rate / config.hop_length - 1e-9)


@dataclass
class AnalysisStep:
    """The frames of one step and how loud their neighbourhood was."""

    features: WorldFeatures
    level_db: float  # RMS of the newest step of samples, dB re full scale


class StreamingAnalyzer:
    """Turns model-rate samples into WORLD frames, ``frames_per_step`` at a time.

    Parameters
    ----------
    config : FeatureConfig
    frames_per_step : int
        Frames analysed per step; a step is ``frames_per_step * hop_length`` samples.
    lookahead_frames : int
        Frames of signal a step waits for past its last frame's centre.

    Raises
    ------
    ConfigError
        If the window cannot hold what the F0 and envelope analysis read at this
        configuration's rate and F0 floor.
    """

    def __init__(self, config: FeatureConfig, frames_per_step: int,
                 lookahead_frames: int) -> None:
        self.config = config
        self.frames_per_step = frames_per_step
        self.lookahead_samples = lookahead_frames * config.hop_length
        self.step_samples = frames_per_step * config.hop_length
        self.context_samples = context_samples(config)
        self.mirror_samples = round(MIRROR_S * config.sample_rate)
        needed = half_span(config)
        if min(self.context_samples, self.mirror_samples) < needed:
            raise ConfigError(f"F0 floor {config.f0_floor_hz} Hz needs {needed} samples of "
                              f"context, the stream's window holds {self.context_samples}")
        self._pitch = PitchTracker(config)
        # Frame centres in the window: the same every step.
        self._centres = self.context_samples + config.hop_length * np.arange(frames_per_step)
        self._times_s = self._centres / config.sample_rate
        self._chosen = chosen = aperiodicity_frames(frames_per_step, lookahead_frames, config)
        self._chosen_times_s = self._times_s[chosen].copy()
        # Each frame's band aperiodicity from the measured ones (the previous step's last
        # first): linear between two, held after the last (its value is all that is known).
        anchors = np.concatenate([[chosen[-1] - frames_per_step], chosen])
        self._from_anchors = np.stack([np.interp(np.arange(frames_per_step), anchors, one)
                                       for one in np.eye(len(anchors))], axis=1)
        # D4C leaves unvoiced frames at its initial value whatever the signal: the band
        # aperiodicity of a step whose chosen frames are all unvoiced is known beforehand.
        self._unvoiced_bap = encode_aperiodicity(aperiodicity(
            np.zeros(2 * self.context_samples), np.zeros(len(self._chosen_times_s)),
            self._chosen_times_s, config), config)
        self.reset()

    def reset(self) -> None:
        # The stream is preceded by silence, so early windows look like later ones.
        self._buffer = np.zeros(self.context_samples)
        self._buffer_start = -self.context_samples  # stream index of _buffer[0]
        self._next_frame = 0
        self._last_bap: FloatArray | None = None  # at the previous step's last measured frame
        self._pitch.reset()

    @property
    def received(self) -> int:
        """Samples of the stream received so far."""
        return self._buffer_start + len(self._buffer)

    def _samples(self, start: int, stop: int) -> FloatArray:
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
        # Keep what the next step's window needs.
        keep_from = self._next_frame * hop - self.context_samples
        self._buffer = self._buffer[keep_from - self._buffer_start:]
        self._buffer_start = keep_from
        return step

    def _step(self) -> AnalysisStep:
        hop = self.config.hop_length
        first = self._next_frame
        start = first * hop - self.context_samples
        stop = (first + self.frames_per_step - 1) * hop + self.lookahead_samples + 1
        real = self._samples(start, stop)
        window = np.concatenate([real, real[-2:-self.mirror_samples - 2:-1]])
        centres, times_s = self._centres, self._times_s
        coarse = self._pitch.estimate(window, centres)
        f0 = refine_causal(window, len(real), coarse, times_s, self.config)
        envelope = spectral_envelope(window, f0, times_s, self.config)
        features = WorldFeatures(f0, encode_envelope(envelope, self.config),
                                 self._band_aperiodicity(window, f0, times_s))
        return AnalysisStep(features, level_db(real[-self.step_samples:]))

    def _band_aperiodicity(self, window: FloatArray, f0: FloatArray,
                           times_s: FloatArray) -> FloatArray:
        """D4C on the frames :func:`aperiodicity_frames` chooses, linear in between."""
        chosen_f0 = f0[self._chosen].copy()
        if chosen_f0.any():
            measured = encode_aperiodicity(
                aperiodicity(window, chosen_f0, self._chosen_times_s, self.config), self.config)
        else:
            measured = self._unvoiced_bap
        before = measured[0] if self._last_bap is None else self._last_bap
        self._last_bap = measured[-1]
        return self._from_anchors @ np.vstack([before, measured])


def aperiodicity_frames(frames_per_step: int, lookahead_frames: int,
                        config: FeatureConfig) -> npt.NDArray[np.int64]:
    """The frames of a step D4C measures: the last of each group of
    ``gcd(APERIODICITY_EVERY, frames_per_step)``, moved back (within its group) to have
    ``APERIODICITY_LOOKAHEAD_S`` of real signal ahead where the lookahead is shorter."""
    every = math.gcd(APERIODICITY_EVERY, frames_per_step)
    needed = round(APERIODICITY_LOOKAHEAD_S * config.sample_rate / config.hop_length)
    back = min(every - 1, max(0, needed - lookahead_frames))
    return np.arange(every - 1 - back, frames_per_step, every)


def analyze_stream(samples: FloatArray, config: FeatureConfig, frames_per_step: int,
                   lookahead_frames: int) -> WorldFeatures:
    """The features a :class:`StreamingAnalyzer` gives a whole signal, as the live engine sees them.

    Training uses this so that the model learns on exactly the analysis it gets live.

    Parameters
    ----------
    samples : ndarray, shape (n_samples,)
        Mono signal at ``config.sample_rate``.
    config, frames_per_step, lookahead_frames
        As for :class:`StreamingAnalyzer`.

    Returns
    -------
    WorldFeatures
        ``n_samples // hop_length + 1`` frames, frame ``k`` centred on sample ``k * hop_length``.
    """
    analyzer = StreamingAnalyzer(config, frames_per_step, lookahead_frames)
    n_frames = len(samples) // config.hop_length + 1
    n_steps = math.ceil(n_frames / frames_per_step)
    padding = n_steps * analyzer.step_samples + analyzer.lookahead_samples + 1 - len(samples)
    analyzer.push(np.concatenate([samples, np.zeros(max(0, padding))]))
    steps = [analyzer.next_step() for _ in range(n_steps)]
    return WorldFeatures(*(np.concatenate([getattr(s.features, name) for s in steps])[:n_frames]
                           for name in ("f0_hz", "mcep", "bap")))
