"""Objective measures of converted speech: mel-cepstral distortion, log-F0 distance and DNSMOS.

The one home of the MCD formula (``MCD_SCALE``): training's validation and the
evaluation both use :func:`mel_cepstral_distortion`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soxr

from rtconvert.dsp.features import WorldFeatures
from rtconvert.dsp.levels import SILENCE_DB, db_to_gain
from rtconvert.dsp.normalizer import speech_level_db
from rtconvert.engine.prosody import CENTS_PER_LOG

from ..dataset import dtw_path
from ..stats import speech_mask

FloatArray = npt.NDArray[np.float64]

#: ``10 / ln 10 * sqrt(2)``: mel-cepstral distortion in dB from natural-log cepstra.
MCD_SCALE = 10.0 / math.log(10.0) * math.sqrt(2.0)
#: Frames kept on either side of the speech when silence is trimmed before DTW.
TRIM_MARGIN_FRAMES = 5
#: Fewest frames voiced in both signals for a log-F0 RMSE or correlation.
MIN_VOICED_FRAMES = 3
#: DNSMOS's models take 16 kHz audio in windows of 9.01 s (speechmos ``INPUT_LENGTH``).
DNSMOS_RATE = 16000
DNSMOS_WINDOW_S = 9.01
#: Active speech level every clip is scored at (ITU-T P.835 listening level), and the
#: range below the loudest 20 ms frame that counts as active.
DNSMOS_LEVEL_DB = -26.0
ACTIVE_RANGE_DB = 30.0
DNSMOS_KEYS = {"ovrl": "ovrl_mos", "sig": "sig_mos", "bak": "bak_mos", "p808": "p808_mos"}


@dataclass(frozen=True)
class Distances:
    """How far an output is from a reference take, on DTW-aligned frames."""

    mcd_db: float  # mean mel-cepstral distortion over c1.., dB
    lf0_rmse_cents: float  # on frames voiced in both; NaN if fewer than MIN_VOICED_FRAMES
    lf0_r: float  # Pearson r of log-F0 on frames voiced in both; NaN if undefined


def mel_cepstral_distortion(a: FloatArray, b: FloatArray) -> float:
    """Mean MCD in dB between aligned frames.

    Parameters
    ----------
    a, b : ndarray, shape (n_frames, n_coefficients)
        Mel-cepstra without c0, frame ``i`` of ``a`` aligned with frame ``i`` of ``b``.

    Returns
    -------
    float
        ``mean_i MCD_SCALE * ||a_i - b_i||`` in dB.
    """
    return float(np.mean(MCD_SCALE * np.sqrt(np.sum((a - b) ** 2, axis=1))))


def lf0_rmse_cents(f0_a_hz: FloatArray, f0_b_hz: FloatArray) -> float:
    """RMS log-F0 difference in cents over frames voiced in both, shape (n_frames,) each.

    Returns NaN when fewer than ``MIN_VOICED_FRAMES`` frames are voiced in both.
    """
    both = (f0_a_hz > 0) & (f0_b_hz > 0)
    if both.sum() < MIN_VOICED_FRAMES:
        return math.nan
    cents = np.log(f0_a_hz[both] / f0_b_hz[both]) * CENTS_PER_LOG
    return float(np.sqrt(np.mean(cents ** 2)))


def lf0_correlation(f0_a_hz: FloatArray, f0_b_hz: FloatArray) -> float:
    """Pearson r of log-F0 over frames voiced in both, shape (n_frames,) each.

    Returns NaN when fewer than ``MIN_VOICED_FRAMES`` frames are voiced in both or
    either contour is flat there.
    """
    both = (f0_a_hz > 0) & (f0_b_hz > 0)
    if both.sum() < MIN_VOICED_FRAMES:
        return math.nan
    lf0_a, lf0_b = np.log(f0_a_hz[both]), np.log(f0_b_hz[both])
    if np.ptp(lf0_a) == 0 or np.ptp(lf0_b) == 0:
        return math.nan
    return float(np.corrcoef(lf0_a, lf0_b)[0, 1])


def trim_silence(features: WorldFeatures) -> WorldFeatures:
    """Leading and trailing silence off (by c0), so that DTW aligns speech with speech."""
    speech = np.flatnonzero(speech_mask(features.mcep[:, 0]))
    return features.slice(max(0, speech[0] - TRIM_MARGIN_FRAMES),
                          speech[-1] + TRIM_MARGIN_FRAMES + 1)


def compare(output: WorldFeatures, reference: WorldFeatures) -> Distances:
    """Distances of ``output`` from ``reference`` after DTW alignment on c1...

    Both are silence-trimmed first; the alignment is by mel-cepstral shape, so F0 is
    compared frame by frame where the spectra match.
    """
    output, reference = trim_silence(output), trim_silence(reference)
    path = dtw_path(output.mcep[:, 1:], reference.mcep[:, 1:])
    i, j = path[:, 0], path[:, 1]
    f0_a, f0_b = output.f0_hz[i], reference.f0_hz[j]
    return Distances(mel_cepstral_distortion(output.mcep[i, 1:], reference.mcep[j, 1:]),
                     lf0_rmse_cents(f0_a, f0_b), lf0_correlation(f0_a, f0_b))


def dnsmos_input(samples: FloatArray, sample_rate: int) -> npt.NDArray[np.float32]:
    """The signal as DNSMOS takes it: 16 kHz, at -26 dBFS active level, one 9.01 s window.

    DNSMOS rates louder speech higher (a quiet RAVDESS take raised by 12 dB gains 0.4
    OVRL), so every clip is brought to the active speech level of ITU-T P.835 listening
    tests first: the score then says how the speech sounds, not how loud it is. A clip
    whose peak would exceed 1 is scaled down (not clipped: clipping would add a
    distortion that the converter did not make). A shorter clip is repeated to one
    window, as speechmos repeats it; speechmos would then average further windows
    over the doubled clip (7 for a 4 s take, 1.6 s of compute), which moved the
    mean scores of 20 real RAVDESS takes by at most 0.03 at a sixth of the cost.
    """
    signal = soxr.resample(samples, sample_rate, DNSMOS_RATE, "HQ")
    level = speech_level_db(signal, DNSMOS_RATE)
    signal = signal * db_to_gain(DNSMOS_LEVEL_DB - (SILENCE_DB if level is None else level))
    peak = float(np.max(np.abs(signal))) if len(signal) else 0.0
    if peak > 1.0:
        signal = signal / peak
    window = math.ceil(DNSMOS_WINDOW_S * DNSMOS_RATE)
    if len(signal) < window:
        signal = np.resize(signal, window)
    return np.clip(signal, -1.0, 1.0).astype(np.float32)


def dnsmos(samples: FloatArray, sample_rate: int) -> dict[str, float]:
    """DNSMOS P.835 (``ovrl``, ``sig``, ``bak``) and P.808 (``p808``) scores, 1 to 5.

    Parameters
    ----------
    samples : ndarray, shape (n_samples,)
        Mono speech, any level.
    sample_rate : int
        Rate of ``samples`` in Hz.
    """
    # Imported here: it loads its ONNX models on first use.
    from speechmos import dnsmos as speechmos_dnsmos

    scores = speechmos_dnsmos.run(dnsmos_input(samples, sample_rate), DNSMOS_RATE)
    return {name: float(scores[key]) for name, key in DNSMOS_KEYS.items()}
