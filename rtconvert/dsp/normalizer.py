"""The front end's gain: speech brought to one level before analysis, whatever the mic gain.

WORLD's analysis, the pitch tracker and the speaker statistics are nearly, but not exactly,
level-invariant: digital silence sits at a fixed floor, and its distance to the speech
changes with the gain. So the engine hears every input at ``TARGET_DB`` of active speech
level and gives the converted output the inverse gain (the output follows the input's
level, as bypass does).

The active level is the mean power of the 20 ms frames within ``ACTIVE_RANGE_DB`` of the
loudest recent one (a peak that decays ``PEAK_DECAY_DB_PER_S``), averaged over about
``TIME_CONSTANT_S`` of such frames: every quantity moves with the input's gain, so the
normalised signal is the same at any gain once the first frame has been heard. A whole
recording is normalised by its own active level (:func:`active_level_db`, the gain frozen:
:meth:`LevelNormalizer.prime`), as training's features are (:func:`normalize`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .levels import db_to_gain

FloatArray = npt.NDArray[np.float64]

#: Active speech level the analysis hears (ITU-T P.56/P.835 listening level).
TARGET_DB = -26.0
#: Frames this far below the loudest count as active speech.
ACTIVE_RANGE_DB = 30.0
#: The loudest frame's level falls this fast, so a speaker who turns quieter is followed.
PEAK_DECAY_DB_PER_S = 1.0
#: Active speech the running level averages over (plain average before that much).
TIME_CONSTANT_S = 3.0
#: The gain stays within these bounds: a quiet studio take 30 dB under a low mic gain (-74 dBFS
#: active) is still brought up; a silent input is not amplified without end.
GAIN_RANGE_DB = (-20.0, 60.0)
FRAME_S = 0.02


def frame_powers(samples: FloatArray, sample_rate: int) -> FloatArray:
    """Mean square of each whole 20 ms frame of ``samples``; shape (n_frames,)."""
    frame = max(1, round(FRAME_S * sample_rate))
    n = len(samples) // frame
    return np.mean(np.reshape(samples[:n * frame], (n, frame)) ** 2, axis=1)


def active_level_db(powers: FloatArray) -> float | None:
    """Mean power (dB re full scale) of the frames (:func:`frame_powers`) within
    ``ACTIVE_RANGE_DB`` of the loudest; None when no frame has any."""
    if not len(powers) or not powers.max() > 0:
        return None
    active = powers >= powers.max() * 10 ** (-ACTIVE_RANGE_DB / 10)
    return float(10 * np.log10(np.mean(powers[active])))


def gain_for(level_db: float | None) -> float:
    """The gain in dB that brings ``level_db`` to ``TARGET_DB``, within ``GAIN_RANGE_DB`` (0 for
    no level: silence)."""
    if level_db is None:
        return 0.0
    low, high = GAIN_RANGE_DB
    return min(max(TARGET_DB - level_db, low), high)


def normalize(samples: FloatArray, sample_rate: int) -> FloatArray:
    """A whole recording at ``TARGET_DB`` of active level, as a primed stream hears it."""
    return samples * db_to_gain(gain_for(active_level_db(frame_powers(samples, sample_rate))))


class LevelNormalizer:
    """Brings a stream's speech to ``TARGET_DB``: a gain per 20 ms frame, from the frames before.

    The gain a sample gets depends only on the samples before its frame, so any block sizes
    give the same output.

    Parameters
    ----------
    sample_rate : int
    """

    def __init__(self, sample_rate: int) -> None:
        self.frame = max(1, round(FRAME_S * sample_rate))
        self._decay_db = PEAK_DECAY_DB_PER_S * self.frame / sample_rate
        self._time_constant = TIME_CONSTANT_S / FRAME_S
        self.reset()

    def reset(self) -> None:
        self.gain_db = 0.0
        self.frozen = False
        self._gain = 1.0
        self._peak_db = -math.inf
        self._power = 0.0  # running mean power of the active frames
        self._count = 0
        self._filled = 0  # samples of the current frame seen
        self._energy = 0.0  # their sum of squares

    def prime(self, level_db: float | None) -> None:
        """Use one gain for the whole stream: a recording's :func:`active_level_db`."""
        self.reset()
        self.gain_db = gain_for(level_db)
        self._gain = db_to_gain(self.gain_db)
        self.frozen = True

    def process(self, samples: FloatArray) -> FloatArray:
        """``samples`` times the gain of their frames (a new array)."""
        out = np.empty_like(samples)
        start = 0
        while start < len(samples):
            take = min(len(samples) - start, self.frame - self._filled)
            piece = samples[start:start + take]
            out[start:start + take] = piece * self._gain
            self._energy += float(np.dot(piece, piece))
            self._filled += take
            start += take
            if self._filled == self.frame:
                self._frame_done(self._energy / self.frame)
                self._filled, self._energy = 0, 0.0
        return out

    def restore(self, samples: FloatArray) -> FloatArray:
        """Converted samples brought back to the input's level (the current gain undone)."""
        return samples if self._gain == 1.0 else samples / self._gain

    def _frame_done(self, power: float) -> None:
        if self.frozen or power <= 0.0:
            return
        level = 10 * math.log10(power)
        self._peak_db = max(level, self._peak_db - self._decay_db)
        if level < self._peak_db - ACTIVE_RANGE_DB:
            return
        self._count += 1
        self._power += (power - self._power) / min(self._count, self._time_constant)
        self.gain_db = gain_for(10 * math.log10(self._power))
        self._gain = db_to_gain(self.gain_db)
