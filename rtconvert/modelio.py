"""What the generator reads and writes: WORLD frames to normalised inputs, outputs to frame changes.

Training and the live engine both go through these pure functions, so the model sees
live exactly what it was trained on. Per frame the generator reads

==========  =====================================================================
mcep        c1.. of the mel-cepstrum less the speaker's mean (or the corpus mean, for
            models trained so), over the corpus std
lf0         log-F0 as a z-score of the speaker's log-F0 statistics (0 unvoiced)
voiced      1 where voiced, else 0
c0          energy relative to the speaker's mean voiced energy, over ``c0_scale``
bap         band aperiodicity, normalised by the corpus mean and std
==========  =====================================================================

and writes, in the same normalised units, a change of each: the mel-cepstrum's and the
aperiodicity's, an energy change, and a log-F0 residual in z-units of the *target*
statistics, added after the emotion's mean/spread shift (:mod:`.prosody`).

Emotion changes speech, not the room: every change fades out in frames far below the
speaker's voiced level (:func:`speech_weight`), so pauses and background noise stay as
they were instead of being raised with a shout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Frames this far below the speaker's mean voiced energy are not speech: nothing changes
#: there. Above it, changes fade in over ``SPEECH_RAMP_DB``. At 35 dB the generator raised
#: breaths and the room between words along with the voice (DNSMOS background 0.05 lower).
SILENCE_BELOW_DB = 25.0
SPEECH_RAMP_DB = 10.0
#: Decibels per natural-log unit of power (c0 of the coded envelope is log power).
DB_PER_LOG_POWER = 10.0 / np.log(10.0)


def speech_weight(c0: FloatArray, c0_mean: float) -> FloatArray:
    """How much of a frame is speech (0..1) from its energy c0 and the speaker's mean voiced c0."""
    above_db = (np.asarray(c0) - c0_mean) * DB_PER_LOG_POWER + SILENCE_BELOW_DB
    return np.clip(above_db / SPEECH_RAMP_DB, 0.0, 1.0)


@dataclass(frozen=True)
class EmotionShift:
    """How far an emotion moves prosody, relative to the speaker: the one shape of a shift.

    The bundle holds one per emotion and corpus intensity; the prosody stage interpolates
    them along the intensity and averages them over a mixture; training conditions on them.
    The spread is kept as a log ratio so that sums and interpolation stay exact.
    """

    delta_lf0: float = 0.0  # mean log-F0 shift, natural log units
    log_sigma_ratio: float = 0.0  # natural log of the log-F0 standard deviation ratio
    delta_c0_db: float = 0.0  # energy shift of voiced frames in dB

    @classmethod
    def measured(cls, delta_lf0: float, sigma_ratio: float, delta_c0_db: float) -> EmotionShift:
        """The shift from the statistics' form (a plain sigma ratio, > 0)."""
        return cls(delta_lf0, math.log(sigma_ratio), delta_c0_db)

    @property
    def sigma_ratio(self) -> float:
        """The log-F0 standard deviation ratio, target over source."""
        return math.exp(self.log_sigma_ratio)

    def scaled(self, weight: float) -> EmotionShift:
        """Every part times ``weight`` (the spread ratio raised to it)."""
        return EmotionShift(weight * self.delta_lf0, weight * self.log_sigma_ratio,
                            weight * self.delta_c0_db)

    def __add__(self, other: EmotionShift) -> EmotionShift:
        return EmotionShift(self.delta_lf0 + other.delta_lf0,
                            self.log_sigma_ratio + other.log_sigma_ratio,
                            self.delta_c0_db + other.delta_c0_db)


@dataclass(frozen=True)
class Normalization:
    """Corpus statistics that put features on a common scale (stored in the bundle)."""

    mcep_mean: FloatArray  # (n_mcep,)
    mcep_std: FloatArray  # (n_mcep,)
    bap_mean: FloatArray  # (n_bap,)
    bap_std: FloatArray  # (n_bap,)
    c0_scale: float  # spread of voiced energy around a speaker's mean, natural-log power
    # Centre c1.. on the speaker's own mean voiced mel-cepstrum instead of the corpus mean:
    # the voice's and the microphone's static colour (a 16 kHz mic, a boomy room) is then
    # not taken for content. EmoDB's speakers sit 2 corpus stds off RAVDESS's on average.
    speaker_mcep: bool = False


@dataclass(frozen=True)
class SpeakerLevels:
    """The speaker's log-F0 mean and std, mean voiced energy (c0) and mean mel-cepstrum."""

    lf0_mean: float
    lf0_std: float
    c0_mean: float
    mcep_mean: FloatArray  # (n_mcep,), over voiced frames


@dataclass(frozen=True)
class Layout:
    """Which rows of the generator's inputs and outputs hold what."""

    n_mcep: int
    n_bap: int

    @property
    def mcep(self) -> slice:
        """c1.. of the mel-cepstrum, in inputs and outputs."""
        return slice(0, self.n_mcep - 1)

    @property
    def lf0(self) -> int:
        """Log-F0 z-score (inputs) or residual (outputs)."""
        return self.n_mcep - 1

    @property
    def voiced(self) -> int:
        """Inputs only."""
        return self.n_mcep

    @property
    def c0_in(self) -> int:
        return self.n_mcep + 1

    @property
    def bap_in(self) -> slice:
        return slice(self.n_mcep + 2, self.n_inputs)

    @property
    def c0_out(self) -> int:
        return self.n_mcep

    @property
    def bap_out(self) -> slice:
        return slice(self.n_mcep + 1, self.n_outputs)

    @property
    def n_inputs(self) -> int:
        return self.n_mcep + 2 + self.n_bap

    def pack(self, inputs: Any, *, mcep: Any, lf0: Any, voiced: Any, c0: Any, bap: Any) -> Any:
        """Write each feature into its rows of ``inputs`` (..., n_inputs, n_frames); returns it.

        The one place the input row order is written down: the runtime packs numpy arrays,
        training packs torch tensors (``inputs`` may be either; rows are assigned in place).
        """
        inputs[..., self.mcep, :] = mcep
        inputs[..., self.lf0, :] = lf0
        inputs[..., self.voiced, :] = voiced
        inputs[..., self.c0_in, :] = c0
        inputs[..., self.bap_in, :] = bap
        return inputs

    @property
    def n_outputs(self) -> int:
        return self.n_mcep + 1 + self.n_bap


def model_inputs(lf0: FloatArray, mcep: FloatArray, bap: FloatArray, norm: Normalization,
                 speaker: SpeakerLevels, out: npt.NDArray[np.float32] | None = None
                 ) -> npt.NDArray[np.float32]:
    """Generator inputs of frames; shape (n_inputs, n_frames), float32 (rows: :class:`Layout`).

    Parameters
    ----------
    lf0 : ndarray, shape (n_frames,)
        Natural-log F0 where voiced, 0 where unvoiced (``WorldFeatures.lf0``).
    mcep : ndarray, shape (n_frames, n_mcep)
    bap : ndarray, shape (n_frames, n_bap)
    norm : Normalization
    speaker : SpeakerLevels
    out : ndarray, shape (n_inputs, n_frames), float32, optional
        Where to write them (the live generator's bound input); default a new array.
    """
    voiced = lf0 != 0  # log F0 is 0 only at 1 Hz, far below any voice
    centre = speaker.mcep_mean if norm.speaker_mcep else norm.mcep_mean
    layout = Layout(mcep.shape[1], bap.shape[1])
    return layout.pack(
        np.empty((layout.n_inputs, len(lf0)), np.float32) if out is None else out,
        mcep=((mcep[:, 1:] - centre[1:]) / norm.mcep_std[1:]).T,
        lf0=np.where(voiced, (lf0 - speaker.lf0_mean) / speaker.lf0_std, 0.0), voiced=voiced,
        c0=(mcep[:, 0] - speaker.c0_mean) / norm.c0_scale,
        bap=((bap - norm.bap_mean) / norm.bap_std).T)


@dataclass
class FrameChanges:
    """The generator's output for frames, in feature units."""

    mcep: FloatArray  # (n_frames, n_mcep): added to the mel-cepstrum (c0 included)
    bap: FloatArray  # (n_frames, n_bap): added to the band aperiodicity, dB
    lf0_residual: FloatArray  # (n_frames,): z-units of the target log-F0 statistics

    @classmethod
    def none(cls, n_frames: int, n_mcep: int, n_bap: int) -> FrameChanges:
        return cls(np.zeros((n_frames, n_mcep)), np.zeros((n_frames, n_bap)), np.zeros(n_frames))


def frame_changes(delta: FloatArray, norm: Normalization) -> FrameChanges:
    """Generator output of shape (n_outputs, n_frames) in feature units."""
    layout = Layout(len(norm.mcep_mean), len(norm.bap_mean))
    delta = np.asarray(delta, dtype=np.float64)
    mcep = np.empty((delta.shape[1], layout.n_mcep))
    mcep[:, 1:] = delta[layout.mcep].T * norm.mcep_std[1:]
    mcep[:, 0] = delta[layout.c0_out] * norm.c0_scale
    return FrameChanges(mcep, delta[layout.bap_out].T * norm.bap_std, delta[layout.lf0].copy())
