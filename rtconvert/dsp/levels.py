"""Signal levels in decibels: RMS level of a block, and gains given in dB."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: What silence reads as, in dB re full scale.
SILENCE_DB = -120.0


def level_db(samples: FloatArray) -> float:
    """RMS level in dB re full scale; ``SILENCE_DB`` for silence or no samples.

    Called for every block and step on the audio worker: a dot product is a quarter of
    ``np.mean(samples ** 2)``'s time on a few hundred samples.
    """
    if not len(samples):
        return SILENCE_DB
    return max(SILENCE_DB, 10.0 * math.log10(float(np.dot(samples, samples)) / len(samples)
                                             + 1e-12))


def silence_nonfinite(samples: FloatArray) -> tuple[FloatArray, int]:
    """``samples`` with NaN and infinities replaced by 0, and how many there were.

    One sum when all are finite (a sum of finite samples is finite, short of overflow).
    """
    if math.isfinite(np.add.reduce(samples)):
        return samples, 0
    finite = np.isfinite(samples)
    return np.where(finite, samples, 0.0), int(np.count_nonzero(~finite))


def db_to_gain(db: float) -> float:
    """Amplitude factor of a gain in dB (``-inf`` gives 0). See also :func:`gain_to_db`."""
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float, floor_db: float = SILENCE_DB) -> float:
    """A gain (amplitude factor) in dB, at least ``floor_db``. See also :func:`db_to_gain`."""
    return max(floor_db, 20.0 * math.log10(gain)) if gain > 0 else floor_db
