"""Periodicity of signal frames: YIN's normalised difference function and its dips, without state.

:func:`yin_f0` is plain YIN with a fixed threshold (de Cheveigné & Kawahara, 2002), the
engine's estimator before the tracker and still the reference. :class:`FramePeriodicity`
measures what :class:`.pitch.PitchTracker` tracks through: each frame's difference
function on a low-passed, decimated signal, its ``K`` deepest local minima with the
probability pYIN would give them (Mauch & Dixon, 2014), and the band levels the voicing
decision uses. It runs on the audio worker once per step, on a few frames at a time, where
each numpy call costs more than its arithmetic: hence index arrays computed once per frame
layout and flat indexing instead of ``take_along_axis``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin
from scipy.special import betainc

from ..config import FeatureConfig
from .levels import db_to_gain

FloatArray = npt.NDArray[np.float64]

#: A frame is voiced when its normalised difference dips below this (YIN's threshold).
VOICING_THRESHOLD = 0.3
#: Frames quieter than this (RMS, relative to full scale) are unvoiced whatever their periodicity.
SILENCE_RMS = db_to_gain(-110.0)


def lag_range(config: FeatureConfig) -> tuple[int, int]:
    """Shortest and longest candidate period in samples."""
    return (int(config.sample_rate / config.f0_ceil_hz),
            int(np.ceil(config.sample_rate / config.f0_floor_hz)))


def yin_f0(signal: FloatArray, centres: npt.NDArray[np.int64], config: FeatureConfig,
           threshold: float = VOICING_THRESHOLD) -> FloatArray:
    """F0 in Hz at sample positions ``centres`` by plain YIN (0 where unvoiced); shape (n_frames,).

    Each frame reads ``signal[centre - L : centre + L]`` with ``L = lag_range(config)[1]``;
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


@dataclass
class Dips:
    """The ``K`` deepest dips of each frame's normalised difference; arrays of shape (n, K)."""

    log2_f0: FloatArray  # of the dip's interpolated period (the shortest period where none)
    cost: FloatArray  # -alpha * log of its pYIN probability; inf where there is no dip
    deepest: FloatArray  # (n,): the deepest dip's interpolated value, 2 where none
    found: npt.NDArray[np.bool_]  # (n,): whether the frame has any dip


@dataclass(frozen=True)
class DipSearch:
    """Finds dips at lags ``min_lag..max_lag`` (in samples read every ``decimation``-th).

    Parameters
    ----------
    min_lag, max_lag : int
        Shortest and longest candidate period in analysis samples.
    candidates : int
        Dips kept per frame, ``K``.
    decimation : int
        Input samples per analysis sample.
    sample_rate : int
        Input rate in Hz.
    cdf_grid, cdf : ndarray
        The beta distribution of YIN thresholds, tabulated.
    alpha, eps : float
        A dip's cost is ``-alpha * log((share + eps) / total)`` (see ``TrackerParams``).
    """

    min_lag: int
    max_lag: int
    candidates: int
    decimation: int
    sample_rate: int
    cdf_grid: FloatArray
    cdf: FloatArray
    alpha: float
    eps: float

    def __call__(self, normalised: FloatArray) -> Dips:
        """Dips of ``normalised`` (C-contiguous, shape (n, max_lag + 1), column j: lag j + 1)."""
        lo, hi, k, q = self.min_lag, self.max_lag, self.candidates, self.decimation
        n, n_columns = normalised.shape
        before, here, after = (normalised[:, lo - 2 + i:hi - 1 + i] for i in range(3))
        depth = np.where((here <= before) & (here < after), here, np.inf)
        index = np.argpartition(depth, k - 1, axis=1)[:, :k]
        # Flat positions in ``depth`` and ``normalised`` (whose column lo - 1 is depth's 0).
        rows = np.arange(n)[:, None]
        at = index + rows * depth.shape[1]
        flat = index + (rows * n_columns + lo - 1)
        value = depth.ravel()[at]
        found = value < np.inf
        a, c = normalised.ravel()[flat - 1], normalised.ravel()[flat + 1]
        spread = a - c
        curvature = np.where(found, a - 2 * value + c, 1.0)
        bent = curvature > 0
        shift = np.where(bent, 0.5 * spread / np.where(bent, curvature, 1.0), 0.0)
        value = np.where(found, np.minimum(value, value - 0.25 * spread * shift), 2.0)
        lag = np.where(found, q * (index + lo + shift), q * lo)
        # pYIN: a dip's share of thresholds is those above it and at or below every
        # shorter lag's difference.
        shorter = np.minimum.accumulate(normalised[:, lo - 1:hi], axis=1)
        earlier = np.where(index > 0, shorter.ravel()[at - 1], 1.0)
        clipped = np.minimum(np.maximum(np.concatenate((earlier, value)), 0.0), 1.0)
        bounds = np.interp(clipped, self.cdf_grid, self.cdf)
        share = np.where(found, np.maximum(bounds[:n] - bounds[n:], 0.0), 0.0)
        n_found = np.maximum(found.sum(axis=1, keepdims=True), 1)
        total = share.sum(axis=1, keepdims=True) + self.eps * n_found
        cost = np.where(found, -self.alpha * np.log((share + self.eps) / total), np.inf)
        return Dips(np.log2(self.sample_rate / lag), cost, value.min(axis=1), found.any(axis=1))


@dataclass
class Periodicity:
    """What :class:`FramePeriodicity` measures of frames; arrays of shape (n,) unless noted."""

    dips: Dips
    power: FloatArray  # low band's mean square over each frame's integration window
    whole: FloatArray  # the whole band's mean square over the same samples
    near: FloatArray  # low band's mean square over the hop around each frame's centre


class FramePeriodicity:
    """Difference functions of frames of a signal, read at ``lowpass_hz`` and about ``rate_hz``.

    Parameters
    ----------
    config : FeatureConfig
        Sample rate, hop and F0 range.
    lowpass_hz, rate_hz : float
        Low-pass cutoff (at least 1.25 times the F0 ceiling) and the least rate the
        low-passed signal is read at.
    candidates : int
        Dips kept per frame.
    threshold_mean, threshold_concentration, alpha, eps : float
        The pYIN threshold distribution and dip cost (see ``pitch.TrackerParams``).
    """

    def __init__(self, config: FeatureConfig, lowpass_hz: float, rate_hz: float,
                 candidates: int, threshold_mean: float, threshold_concentration: float,
                 alpha: float, eps: float) -> None:
        rate = config.sample_rate
        cutoff = max(lowpass_hz, 1.25 * config.f0_ceil_hz)
        # Read every q-th sample: at least rate_hz, and q divides the hop so that every
        # frame's samples lie on one grid.
        most = max(1, int(rate // max(rate_hz, 4 * cutoff)))
        self.decimation = q = max(d for d in range(1, most + 1) if config.hop_length % d == 0)
        # Lags in analysis samples (one per ``q`` input samples).
        min_lag = max(2, int(rate / config.f0_ceil_hz / q))
        self.max_lag = max_lag = int(np.ceil(rate / config.f0_floor_hz / q))
        self.width = max_lag  # integration window: one longest period
        self.candidates = min(candidates, max_lag - min_lag + 1)
        # Windowed-sinc low-pass, transition band about as wide as the cutoff.
        n_taps = 2 * round(1.5 * rate / cutoff) + 1
        self._taps = firwin(n_taps, cutoff, fs=rate)
        self._half_taps = n_taps // 2
        #: Samples read on either side of a frame centre.
        self.reach = q * max(max_lag + 1, self.width) + self._half_taps
        grid = np.linspace(0.0, 1.0, 1001)
        a = threshold_mean * threshold_concentration
        b = (1 - threshold_mean) * threshold_concentration
        self._dips = DipSearch(min_lag, max_lag, self.candidates, q, rate, grid,
                               betainc(a, b, grid), alpha, eps)
        self._lag_counts = np.arange(1.0, max_lag + 2)  # the cumulative mean's divisors
        self._around = max(1, config.hop_length // (2 * q))
        self._layouts: dict[bytes, _Layout] = {}

    def __call__(self, window: FloatArray, centres: npt.NDArray[np.int64]) -> Periodicity:
        """Measure the frames at sample positions ``centres`` of ``window``.

        Each frame reads ``window[centre - reach : centre + reach]``.
        """
        q, width, layout = self.decimation, self.width, self._layout(centres)
        # Low-pass the span the frames read and keep every q-th sample (q divides the hop,
        # so all frames lie on one grid): low[i] is at window[first + q * i].
        span = window[layout.span_start:layout.span_stop]
        low = np.convolve(span, self._taps, mode="valid")[::q]
        # d(tau) = sum_j (x_j - x_{j+tau})^2 over j in [0, width), tau = 0..n_lags.
        cross = np.empty(layout.lags.shape)
        length = self.max_lag + 1 + width
        for row, start in zip(cross, layout.start_list):
            row[:] = np.correlate(low[start:start + length], low[start:start + width], "valid")
        squares = _cumulative_squares(low)
        shifted = squares[layout.lag_stops] - squares[layout.lags]
        difference = shifted[:, :1] + shifted - 2 * cross
        cumulative = np.cumsum(difference[:, 1:], axis=1) / self._lag_counts
        normalised = difference[:, 1:] / np.maximum(cumulative, 1e-12)  # column j: lag j + 1
        # Whole-band mean square over the same samples (the first ``width`` of each frame).
        whole_squares = _cumulative_squares(span[self._half_taps:len(span) - self._half_taps])
        whole = (whole_squares[layout.whole_stop] - whole_squares[layout.whole_start]) / (q * width)
        near = (squares[layout.near_stop] - squares[layout.near_start]) / (2 * self._around)
        return Periodicity(self._dips(normalised), shifted[:, 0] / width, whole, near)

    def _layout(self, centres: npt.NDArray[np.int64]) -> _Layout:
        """Where the frames at ``centres`` read: the same every step of a stream, so cached."""
        key = centres.tobytes()
        layout = self._layouts.get(key)
        if layout is None:
            if len(self._layouts) > 8:
                self._layouts.clear()
            layout = self._layouts[key] = _Layout(centres, self.decimation, self.max_lag + 1,
                                                  self.width, self._half_taps, self._around)
        return layout


def _cumulative_squares(samples: FloatArray) -> FloatArray:
    """``[0, x0^2, x0^2 + x1^2, ...]``: shape (n + 1,)."""
    squares = np.empty(len(samples) + 1)
    squares[0] = 0.0
    np.cumsum(np.square(samples), out=squares[1:])
    return squares


class _Layout:
    """Index arrays of the frames at ``centres`` in the signal decimated by ``q``."""

    def __init__(self, centres: npt.NDArray[np.int64], q: int, n_lags: int, width: int,
                 half_taps: int, around: int) -> None:
        first = int(centres[0]) - q * n_lags
        stop = int(centres[-1]) + q * width + 1
        self.span_start, self.span_stop = first - half_taps, stop + half_taps
        starts = (centres - centres[0]) // q
        self.start_list = starts.tolist()
        self.lags = starts[:, None] + np.arange(n_lags + 1)[None, :]
        self.lag_stops = self.lags + width
        self.whole_start, self.whole_stop = q * starts, q * (starts + width)
        middle = starts + n_lags
        self.near_start, self.near_stop = middle - around, middle + around
