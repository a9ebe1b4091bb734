"""The front end's gain: a recording brought to one speech level before analysis.

WORLD's analysis, the pitch tracker and the speaker statistics are level-invariant by
design, except where a recording holds digital silence: WORLD's floor sits at a fixed
level under it, so its distance to the speech (and with it the generator's input in the
pauses) changes with the gain the recording was made at. A recording is therefore
analysed at ``TARGET_DB`` of active speech level (:func:`active_level_db`, the mean power
of its 20 ms frames within ``ACTIVE_RANGE_DB`` of the loudest) and the converted output
gets the inverse gain, so it keeps the input's level: file conversion, the evaluation and
training's features all hear a take this way, and a take converts the same at any gain.

A live stream keeps the microphone's own level (gain 0 dB): a real microphone never
delivers digital silence, and a gain that moved during the stream would have to be undone
on the output at exactly the samples it was applied to, a few tens of ms later.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .levels import db_to_gain

FloatArray = npt.NDArray[np.float64]

#: Active speech level the analysis hears (ITU-T P.56/P.835 listening level).
TARGET_DB = -26.0
#: Frames this far below the loudest count as active speech.
ACTIVE_RANGE_DB = 30.0
#: The gain stays within these bounds: a quiet studio take 30 dB under a low mic gain (-74 dBFS
#: active) is still brought up; a silent input is not amplified without end.
GAIN_RANGE_DB = (-20.0, 60.0)
FRAME_S = 0.02


def frame_powers(samples: FloatArray, sample_rate: int) -> FloatArray:
    """Mean square of each whole 20 ms frame of ``samples``; shape (n_frames,)."""
    frame = max(1, round(FRAME_S * sample_rate))
    n = len(samples) // frame
    return np.mean(np.reshape(samples[:n * frame], (n, frame)) ** 2, axis=1)


def active_level_db(powers: FloatArray, range_db: float = ACTIVE_RANGE_DB) -> float | None:
    """Mean power (dB re full scale) of the frames (:func:`frame_powers`) within ``range_db``
    of the loudest; None when no frame has any."""
    if not len(powers) or not powers.max() > 0:
        return None
    active = powers >= powers.max() * 10 ** (-range_db / 10)
    return float(10 * np.log10(np.mean(powers[active])))


def speech_level_db(samples: FloatArray, sample_rate: int) -> float | None:
    """A signal's active speech level: :func:`active_level_db` of its :func:`frame_powers`."""
    return active_level_db(frame_powers(samples, sample_rate))


def gain_for(level_db: float | None) -> float:
    """The gain in dB that brings ``level_db`` to ``TARGET_DB``, within ``GAIN_RANGE_DB`` (0 for
    no level: silence)."""
    if level_db is None:
        return 0.0
    low, high = GAIN_RANGE_DB
    return min(max(TARGET_DB - level_db, low), high)


def normalize(samples: FloatArray, sample_rate: int) -> FloatArray:
    """A whole recording at ``TARGET_DB`` of active level, as a primed engine hears it."""
    return samples * db_to_gain(gain_for(speech_level_db(samples, sample_rate)))


class LevelNormalizer:
    """The engine's front-end gain: 0 dB until :meth:`prime` gives it a recording's level."""

    def __init__(self) -> None:
        self.prime(None)

    def prime(self, level_db: float | None) -> None:
        """Hear the whole stream at one gain: ``level_db`` (a recording's :func:`active_level_db`)
        brought to ``TARGET_DB``; None: 0 dB, as a live stream."""
        self.gain_db = gain_for(level_db)
        self._gain = db_to_gain(self.gain_db)

    def process(self, samples: FloatArray) -> FloatArray:
        """``samples`` as the analysis hears them."""
        return samples if self._gain == 1.0 else samples * self._gain

    def restore(self, samples: FloatArray) -> FloatArray:
        """Converted samples brought back to the input's level."""
        return samples if self._gain == 1.0 else samples / self._gain
