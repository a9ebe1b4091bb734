"""The prosody stage: the emotion's speaker-relative F0 and energy shift (docs/design.md).

The math is pure functions (log-F0 statistics, the shift, its value along the intensity);
:class:`ProsodyShifter` applies them to the frames of each step, relative to the
statistics the speaker stage (:mod:`.speaker`) keeps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..bundle import Bundle
from ..modelio import DB_PER_LOG_POWER, EmotionShift, SpeakerLevels

if TYPE_CHECKING:
    from .conversion import ConvertedFrames

FloatArray = npt.NDArray[np.float64]

#: Cents per natural-log unit of frequency.
CENTS_PER_LOG = 1200.0 / math.log(2.0)


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
                 delta_mean: float, sigma_ratio: float) -> FloatArray:
    """Move voiced log-F0 from the speaker's statistics toward the emotion's.

    ``mu_t = mu_s + delta_mean``, ``sigma_t = sigma_s * sigma_ratio``,
    ``lf0' = mu_t + (lf0 - mu_s) * sigma_t / sigma_s``. Unvoiced frames pass unchanged. The
    intensity is already in the shift: :func:`shift_at` interpolates the emotion's measured
    shifts, so that ``sigma_ratio = rho ** intensity`` holds at the measured points.

    Parameters
    ----------
    lf0 : ndarray, shape (n_frames,)
        Natural log of F0 (any value where unvoiced).
    voiced : ndarray of bool, shape (n_frames,)
    source : LogF0Stats
        The speaker's own statistics.
    delta_mean, sigma_ratio : float
        The shift of the mean (log units) and the ratio of the standard deviations.

    Returns
    -------
    ndarray, shape (n_frames,)
    """
    shifted = source.mean + delta_mean + (lf0 - source.mean) * sigma_ratio
    return np.where(voiced, shifted, lf0)


#: Largest energy change applied, in dB: the corpus's shouting (+27 dB) would clip a mic chain.
MAX_ENERGY_SHIFT_DB = 6.0


def shift_at(anchors: Sequence[tuple[float, EmotionShift]], intensity: float) -> EmotionShift:
    """The shift at ``intensity``, piecewise linear through 0 (none) and the measured anchors.

    Parameters
    ----------
    anchors : sequence of (intensity, EmotionShift)
        The shifts measured at the corpus's intensities (e.g. RAVDESS normal at 0.5, strong
        at 1.0), by increasing intensity; beyond the last, the last holds.
    intensity : float

    Interpolating log sigma ratios makes ``sigma_t = sigma_live * rho_e(intensity)`` (the
    prosody section of docs/design.md) exact at the measured points.
    """
    points = [(0.0, EmotionShift()), *anchors]
    mixed = points[-1][1]
    for (x0, a), (x1, b) in zip(points, points[1:]):
        if intensity <= x1:
            w = (intensity - x0) / (x1 - x0)
            mixed = EmotionShift(*((1.0 - w) * u + w * v for u, v in zip(astuple(a), astuple(b))))
            break
    energy = float(np.clip(mixed.delta_c0_db, -MAX_ENERGY_SHIFT_DB, MAX_ENERGY_SHIFT_DB))
    return EmotionShift(mixed.delta_lf0, mixed.log_sigma_ratio, energy)


def mixture_shift(anchors: Mapping[str, Sequence[tuple[float, EmotionShift]]],
                  row: Iterable[tuple[str, float]]) -> EmotionShift:
    """The shift of an emotion mixture: its emotions' shifts at its total intensity, averaged
    by their weights.

    Parameters
    ----------
    anchors : mapping
        Per emotion, its measured shifts by increasing intensity (see :func:`shift_at`).
    row : iterable of (emotion, intensity)
        A condition row: the intensity times each emotion's weight. Its sum is the intensity
        of the mixture's emotional part (a neutral weight dilutes it); each emotion's share
        of the sum is its weight in the average.

    A single emotion gets :func:`shift_at` at its intensity. Averaging keeps a mixture's F0,
    range and energy between those of its emotions, where a sum of each at its share went
    past both (happy and surprised at 0.5 each multiplied their widenings of the F0 range),
    and a glide from one emotion to another moves the shift along a straight line instead
    of dipping through both emotions' normal intensities.
    """
    parts = [(emotion, x) for emotion, x in row if x > 0]
    total = sum(x for _, x in parts)
    mixed = EmotionShift()
    for emotion, x in parts:
        mixed = mixed + shift_at(anchors[emotion], total).scaled(x / total)
    return mixed


#: Converted F0 is kept inside this range (Hz): past it WORLD's pulses stop sounding like voice.
F0_LIMITS_HZ = (40.0, 1100.0)


class ProsodyShifter:
    """The prosody stage: moves F0 and energy of frames toward an emotion mixture.

    F0 moves relative to the speaker's log-F0 statistics (:mod:`.speaker` tracks them),
    by the mixture's shift (:func:`mixture_shift`: its emotions' shifts at its intensity,
    averaged by their weights), and then by the generator's per-frame residual in
    z-units of the shifted statistics; the energy (c0) of speech frames moves by the
    mixture's energy shift, weighed by how much of the *input* frame was speech
    (:func:`rtconvert.modelio.speech_weight`: not the pauses), as in training.

    Parameters
    ----------
    emotions : tuple of str
        The order of the condition vector's entries.
    anchors : dict
        Per emotion, its measured shifts by increasing intensity (see :func:`shift_at`).
    """

    def __init__(self, emotions: tuple[str, ...],
                 anchors: dict[str, Sequence[tuple[float, EmotionShift]]]) -> None:
        self.emotions, self.anchors = emotions, anchors
        self._shifts: dict[bytes, EmotionShift] = {}  # by condition row: rows repeat

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> ProsodyShifter:
        """The shifter for a bundle's emotions, statistics and intensity scale."""
        anchors = {e: sorted((bundle.intensity_scale[name], shift)
                             for name, shift in bundle.prosody[e].items())
                   for e in bundle.emotions}
        return cls(bundle.emotions, anchors)

    def process(self, frames: ConvertedFrames, speaker: SpeakerLevels
                ) -> tuple[FloatArray, FloatArray]:
        """F0 and mel-cepstra of each frame moved by the emotion mixture of its condition row.

        Parameters
        ----------
        frames : ConvertedFrames
            The conversion stage's frames, each with its condition row (intensity per
            emotion), the generator's log-F0 residual (z-units of the shifted statistics)
            and how much of the input frame was speech (0..1: the energy shift's weight).
        speaker : SpeakerLevels
            The speaker's log-F0 statistics the shift is relative to.

        Returns
        -------
        f0_hz, mcep
            New arrays; F0 kept inside ``F0_LIMITS_HZ`` where voiced.
        """
        condition, speech = frames.condition, frames.speech
        stats = LogF0Stats(speaker.lf0_mean, speaker.lf0_std, 0)
        voiced, lf0 = frames.features.voiced, frames.features.lf0.copy()
        mcep = frames.features.mcep.copy()
        n = frames.n_frames
        # Rows differ only while the mixture glides; otherwise one shift serves all frames.
        if (condition == condition[0]).all():
            groups = [(condition[0], np.ones(n, dtype=bool))]
        else:
            groups = [(row, np.arange(n) == i) for i, row in enumerate(condition)]
        for row, rows in groups:
            shift = self.mixture_shift(row)
            if shift == EmotionShift():
                continue
            shifted = shift_log_f0(lf0[rows], voiced[rows], stats, shift.delta_lf0,
                                   shift.sigma_ratio)
            lf0[rows] = shifted + stats.std * shift.sigma_ratio * frames.lf0_residual[rows]
            mcep[rows, 0] += speech[rows] * shift.delta_c0_db / DB_PER_LOG_POWER
        low, high = F0_LIMITS_HZ
        return np.where(voiced, np.minimum(np.maximum(np.exp(lf0), low), high), 0.0), mcep

    def mixture_shift(self, row: FloatArray) -> EmotionShift:
        """The shift of a condition row (:func:`mixture_shift`), remembered: rows repeat."""
        key = row.tobytes()
        shift = self._shifts.get(key)
        if shift is None:
            if len(self._shifts) > 256:  # a long glide
                self._shifts.clear()
            shift = self._shifts[key] = mixture_shift(
                self.anchors, ((e, float(x)) for e, x in zip(self.emotions, row)))
        return shift
