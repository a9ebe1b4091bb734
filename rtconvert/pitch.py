"""Frame-wise F0 by YIN: pitch for the live engine, which cannot wait for DIO's long context.

DIO decides voicing over whole contours and zeroes the frames within about 35 ms of a
signal's ends, so a streaming analysis with 15 ms of lookahead would see nothing voiced.
YIN (de Cheveigné & Kawahara, 2002) needs only the samples around one frame: the
cumulative mean normalised difference of a frame with itself shifted by each candidate
period, whose first dip below a threshold is the period. StoneMask then refines it as it
refines DIO's estimate.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .config import FeatureConfig

FloatArray = npt.NDArray[np.float64]

#: A frame is voiced when its normalised difference dips below this (YIN's threshold).
VOICING_THRESHOLD = 0.3
#: Frames quieter than this (RMS, relative to full scale) are unvoiced whatever YIN says.
SILENCE_RMS = 10 ** (-80 / 20)


def lag_range(config: FeatureConfig) -> tuple[int, int]:
    """Shortest and longest candidate period in samples."""
    return (int(config.sample_rate / config.f0_ceil_hz),
            int(np.ceil(config.sample_rate / config.f0_floor_hz)))


def half_span(config: FeatureConfig) -> int:
    """Samples YIN reads on each side of a frame centre."""
    return lag_range(config)[1]


def yin_f0(signal: FloatArray, centres: npt.NDArray[np.int64], config: FeatureConfig,
           threshold: float = VOICING_THRESHOLD) -> FloatArray:
    """F0 in Hz at sample positions ``centres`` (0 where unvoiced); shape (n_frames,).

    Each frame reads ``signal[centre - L : centre + L]`` with ``L = half_span(config)``;
    the caller keeps those samples inside the signal.
    """
    min_lag, max_lag = lag_range(config)
    width = max_lag  # integration window, one longest period
    starts = centres - max_lag
    frames = signal[starts[:, None] + np.arange(2 * max_lag)[None, :]]
    fft_size = 1 << int(np.ceil(np.log2(3 * max_lag)))
    spectra = np.fft.rfft(frames, fft_size)
    window_spectra = np.fft.rfft(frames[:, :width], fft_size)
    # d(tau) = sum_j (x_j - x_{j+tau})^2 over j in [0, width): energies minus twice the
    # cross-correlation of the first ``width`` samples with the frame.
    cross = np.fft.irfft(np.conj(window_spectra) * spectra, fft_size)[:, :max_lag + 1]
    squares = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    lags = np.arange(max_lag + 1)
    shifted_energy = squares[:, lags + width] - squares[:, lags]
    difference = squares[:, width:width + 1] + shifted_energy - 2 * cross
    difference[:, 0] = 0.0
    cumulative = np.cumsum(difference[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    normalised = np.ones_like(difference)
    normalised[:, 1:] = difference[:, 1:] / np.maximum(cumulative, 1e-12)
    rms = np.sqrt(squares[:, width] / width)
    below = normalised[:, min_lag:max_lag] < threshold
    voiced = below.any(axis=1) & (rms >= SILENCE_RMS)
    first = below.argmax(axis=1) + min_lag
    # Walk from the first lag under the threshold down into its dip: the first lag at or
    # after it where the curve stops falling.
    lags = np.arange(max_lag - 1)[None, :]
    stops = (np.diff(normalised[:, :max_lag], axis=1) >= 0) & (lags >= first[:, None])
    lag = np.where(stops.any(axis=1), stops.argmax(axis=1), max_lag - 2).clip(min_lag, max_lag - 2)
    # Parabolic interpolation of the dip for a sub-sample period.
    rows = np.arange(len(frames))
    a, b, c = (normalised[rows, lag + k] for k in (-1, 0, 1))
    curvature = a - 2 * b + c
    offset = np.where(curvature > 0, 0.5 * (a - c) / np.where(curvature > 0, curvature, 1), 0.0)
    f0 = np.where(voiced, config.sample_rate / (lag + offset), 0.0)
    return np.where((f0 >= config.f0_floor_hz) & (f0 <= config.f0_ceil_hz), f0, 0.0)
