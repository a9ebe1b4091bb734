"""The speaker stage: the live speaker's log-F0 statistics, voiced energy and mean spectrum.

What the generator's inputs and the prosody shift are relative to (:class:`SpeakerLevels`),
learnt from the voiced frames as they arrive. Each statistic starts at the average speaker
of the training corpus (the bundle's priors), averages plainly over the first frames and
then forgets with a time constant, so a first sentence moves it within a second or two and
a long session follows a voice that tires; gated silence and unvoiced frames leave it as
it is.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..dsp.features import WorldFeatures
from ..modelio import SpeakerLevels

if TYPE_CHECKING:
    from ..bundle import Bundle

FloatArray = npt.NDArray[np.float64]

#: What the statistics' priors are worth, in voiced frames (100 ms).
PRIOR_FRAMES = 20
#: Frames after which old ones fade with this time constant (2 s of voiced speech).
TIME_CONSTANT_FRAMES = 400


class RunningStats:
    """The running mean and variance of a scalar or of each entry of a vector.

    Parameters
    ----------
    prior_mean : float or ndarray
        Where the mean starts (a vector gives a vector statistic).
    prior_std : float or ndarray
        Where the standard deviation starts.
    prior_frames, time_constant_frames : int
        See the module docstring.
    """

    def __init__(self, prior_mean: float | FloatArray, prior_std: float | FloatArray,
                 prior_frames: int = PRIOR_FRAMES,
                 time_constant_frames: int = TIME_CONSTANT_FRAMES) -> None:
        self.prior = (prior_mean, prior_std)
        self.prior_frames = prior_frames
        self.time_constant_frames = time_constant_frames
        self.reset()

    def reset(self) -> None:
        mean, std = self.prior
        # Scalars stay Python floats (a step's few frames cost less so); vectors are copied.
        self.mean = np.array(mean, dtype=np.float64) if np.ndim(mean) else float(mean)
        self.variance = np.square(std) if np.ndim(std) else float(std) ** 2
        self.count = self.prior_frames

    @property
    def std(self) -> float | FloatArray:
        return np.sqrt(self.variance) if np.ndim(self.variance) else math.sqrt(self.variance)

    def update(self, values: FloatArray) -> None:
        """Fold in new frames, oldest first: shape (n_frames,) or (n_frames, n_entries)."""
        for value in values:
            self.count += 1
            rate = 1.0 / min(self.count, self.time_constant_frames)
            difference = value - self.mean
            self.mean = self.mean + rate * difference
            self.variance = (1.0 - rate) * (self.variance + rate * difference ** 2)

    def prime(self, mean: float | FloatArray, variance: float | FloatArray) -> None:
        """Start from statistics measured beforehand (a whole file), as if long adapted."""
        self.mean = np.array(mean, dtype=np.float64) if np.ndim(mean) else float(mean)
        self.variance = np.array(variance, dtype=np.float64) if np.ndim(variance) else float(
            variance)
        self.count = self.time_constant_frames


class SpeakerTracker:
    """Tracks the speaker the generator's inputs and the prosody shift are relative to.

    Parameters
    ----------
    lf0_prior : (float, float)
        Log-F0 mean and std of the average training speaker.
    c0_prior : float
        Mean voiced energy (c0) of the average training speaker.
    mcep_prior : ndarray, shape (n_mcep,)
        Mean mel-cepstrum of the training corpus (over its speech frames: close to the
        voiced ones the tracker averages, and only a start).
    """

    def __init__(self, lf0_prior: tuple[float, float], c0_prior: float,
                 mcep_prior: FloatArray) -> None:
        self.lf0 = RunningStats(*lf0_prior)
        self.energy = RunningStats(c0_prior, 1.0)
        self.spectrum = RunningStats(np.asarray(mcep_prior, dtype=np.float64),
                                     np.ones(len(mcep_prior)))

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> SpeakerTracker:
        """The tracker for a bundle's average speaker."""
        return cls(bundle.lf0_prior, bundle.c0_prior, bundle.normalization.mcep_mean)

    def reset(self) -> None:
        for stats in (self.lf0, self.energy, self.spectrum):
            stats.reset()

    def observe(self, features: WorldFeatures) -> None:
        """Fold the voiced frames of newly analysed speech in (audio worker thread)."""
        voiced = features.voiced
        if voiced.any():
            self.lf0.update(features.lf0[voiced])
            self.energy.update(features.mcep[voiced, 0])
            self.spectrum.update(features.mcep[voiced])

    def prime(self, f0_hz: FloatArray, c0: FloatArray, mcep_mean: FloatArray | None) -> None:
        """Start from a whole recording: its voiced F0 and energy, and the mean mel-cepstrum of
        its voiced frames.

        Fewer than two voiced frames leave the statistics as they were.
        """
        voiced = f0_hz > 0
        if voiced.sum() < 2 or mcep_mean is None:
            return
        lf0 = np.log(f0_hz[voiced])
        self.lf0.prime(float(np.mean(lf0)), float(np.var(lf0)))
        self.energy.prime(float(np.mean(c0[voiced])), float(np.var(c0[voiced])))
        self.spectrum.prime(mcep_mean, self.spectrum.variance)

    def levels(self) -> SpeakerLevels:
        """The statistics as the generator's inputs and the prosody shift use them."""
        return SpeakerLevels(self.lf0.mean, self.lf0.std, self.energy.mean, self.spectrum.mean)
