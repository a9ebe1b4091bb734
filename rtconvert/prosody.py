"""Log-F0 statistics and the speaker-relative emotional F0 shift (see DESIGN.md, Prosody).

The math is pure functions here; the running, stateful version for the live engine
wraps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Cents per natural-log unit of frequency.
CENTS_PER_LOG = 1200.0 / math.log(2.0)
#: Decibels per natural-log unit of power (c0 of the coded envelope is log power).
DB_PER_LOG_POWER = 10.0 / math.log(10.0)


@dataclass(frozen=True)
class LogF0Stats:
    """Mean and standard deviation of log-F0 over voiced frames."""

    mean: float  # natural log of Hz
    std: float  # natural log units
    n_frames: int  # voiced frames that went into it


def voiced_log_f0(f0_hz: FloatArray) -> FloatArray:
    """Natural log of the voiced (F0 > 0) frames only; shape (n_voiced,)."""
    return np.log(f0_hz[f0_hz > 0])


def log_f0_stats(values: FloatArray) -> LogF0Stats:
    """Statistics of voiced log-F0 values; NaN mean/std if there are fewer than two."""
    if len(values) < 2:
        return LogF0Stats(math.nan, math.nan, len(values))
    return LogF0Stats(float(np.mean(values)), float(np.std(values)), len(values))


def shift_log_f0(lf0: FloatArray, voiced: npt.NDArray[np.bool_], source: LogF0Stats,
                 delta_mean: float, sigma_ratio: float, intensity: float) -> FloatArray:
    """Move voiced log-F0 from the speaker's statistics toward the emotion's.

    ``mu_t = mu_s + intensity * delta_mean``, ``sigma_t = sigma_s * sigma_ratio ** intensity``,
    ``lf0' = mu_t + (lf0 - mu_s) * sigma_t / sigma_s``. Unvoiced frames pass unchanged;
    intensity 0 returns ``lf0`` exactly.

    Parameters
    ----------
    lf0 : ndarray, shape (n_frames,)
        Natural log of F0 (any value where unvoiced).
    voiced : ndarray of bool, shape (n_frames,)
    source : LogF0Stats
        The speaker's own statistics.
    delta_mean, sigma_ratio : float
        The emotion's speaker-relative shift (log units) and standard-deviation ratio.
    intensity : float
        0 neutral, 0.5 the corpus's normal intensity, 1 its strong intensity.

    Returns
    -------
    ndarray, shape (n_frames,)
    """
    scale = sigma_ratio ** intensity
    shifted = source.mean + intensity * delta_mean + (lf0 - source.mean) * scale
    return np.where(voiced, shifted, lf0)
