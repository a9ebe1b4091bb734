"""Causal F0 for the live engine: periodicity candidates per frame, tracked step by step.

DIO decides voicing over whole contours and zeroes the frames within about 35 ms of a
signal's ends, so a streaming analysis with 10 ms (or, in a low-latency profile, 5 ms) of
lookahead would see nothing voiced. The stream's estimator reads only the samples around
each frame (``PitchTracker.reach`` of them on each side) and carries a little state from
step to step:

1. **Periodicity.** The window is low-passed at 1 kHz (all of F0's range, little of the
   formants above, none of the fricatives) and read at ~8 kHz. For each frame, YIN's
   cumulative mean normalised difference (de Cheveigné & Kawahara, 2002) of one longest
   period with itself shifted by each candidate period gives up to ``candidates`` local
   minima, each with a probability in the manner of pYIN (Mauch & Dixon, 2014): the
   share of thresholds, drawn from a beta distribution, for which it is the first dip
   below threshold. That prefers the shortest good period over its multiples.
2. **Tracking.** A Viterbi search over "unvoiced" and the candidates through the step's
   frames. Costs: voicing evidence (log-odds from the deepest dip, the low band's level
   relative to its running peak and its share of the whole band; a frame whose centre
   hop is 60 dB under the running peak is unvoiced), the candidate's probability, the F0
   change in octaves beyond a small free glide, a cost to switch voicing either way
   (hysteresis: a frame next to voiced frames needs less evidence), and at an onset the
   distance to the last voiced F0 while it is recent and to the speaker's running mean
   log-F0, against octave errors. A step's frames are decided together, from their own
   evidence and the path costs of every state of the previous step's last frame, so a
   decision can be overturned by the frames that follow it and a one-frame step does
   not lock a voicing decision.
3. **Refinement.** StoneMask refines the chosen F0 as it refines DIO's
   (:func:`refine_causal`), but past the real samples it reads a periodic continuation
   of the signal at the step's last F0 instead of the window's mirror image: a mirrored
   voiced signal keeps its period but not its phase, which biased StoneMask by several
   per cent on the step's last frames (5 ms of lookahead: 20 % of them more than 50
   cents from Harvest, 11 % with the continuation).

Everything is derived from the configuration (any model rate, any F0 range) and the
state changes once per step, in order, so the output does not depend on how the input
was cut into blocks. The constants in :class:`TrackerParams` were tuned on 60 RAVDESS
files plus noise against Harvest and checked on 120 other files and espeak-ng speech
(``docs/pitch.md``). :func:`yin_f0`, plain YIN with a fixed threshold and no state, was
the engine's estimator before and stays as the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin
from scipy.special import betainc

from .config import FeatureConfig
from .features import refine_f0

FloatArray = npt.NDArray[np.float64]

#: A frame is voiced when its normalised difference dips below this (YIN's threshold).
VOICING_THRESHOLD = 0.3
#: Frames quieter than this (RMS, relative to full scale) are unvoiced whatever their periodicity.
SILENCE_RMS = 10 ** (-80 / 20)


def lag_range(config: FeatureConfig) -> tuple[int, int]:
    """Shortest and longest candidate period in samples."""
    return (int(config.sample_rate / config.f0_ceil_hz),
            int(np.ceil(config.sample_rate / config.f0_floor_hz)))


def half_span(config: FeatureConfig) -> int:
    """Samples F0 estimation reads on each side of a frame centre (YIN or the tracker)."""
    return max(lag_range(config)[1], PitchTracker(config).reach)


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


@dataclass(frozen=True)
class TrackerParams:
    """The tracker's constants; costs are in nats (negative log-probabilities)."""

    # Low-pass before the difference function, and the rate it is read at afterwards.
    lowpass_hz: float = 1000.0
    analysis_rate_hz: float = 8000.0
    # Local minima of the normalised difference kept per frame.
    candidates: int = 8
    # Beta distribution of YIN thresholds (mean, concentration) giving each dip its
    # probability; a candidate's cost is -alpha * log(its share of them + eps).
    threshold_mean: float = 0.079
    threshold_concentration: float = 11.8
    eps: float = 0.001
    alpha: float = 1.48
    # Voicing log-odds: bias + depth * (deepest dip) + level * (low band's dB re its
    # running level) + tilt * (low band's dB re the whole band's, at most 0).
    voicing_bias: float = 3.12
    voicing_depth: float = -1.46
    voicing_level: float = 0.035
    voicing_tilt: float = 0.059
    # A frame whose low band, over the hop around its centre, is this many dB below the
    # running level is unvoiced (the evidence above leans on the past: offsets).
    gate_db: float = -60.0
    # Running peak level of the low band: starts here (dB re full scale, mean square),
    # falls this many dB per second below a new peak.
    level_start_db: float = -50.0
    level_decay_db_per_s: float = 5.1
    # Cost per octave of F0 change between frames beyond a free glide of this many octaves.
    glide_cost: float = 13.3
    free_glide_oct: float = 0.098
    # Costs to switch from unvoiced to voiced and back.
    onset_cost: float = 1.90
    offset_cost: float = 2.49
    # At an onset: cost per octave (up to one) from the last voiced F0, fading with this
    # time constant in seconds.
    recall_cost: float = 3.74
    recall_s: float = 0.376
    # Cost per octave beyond ``prior_width_oct`` from the speaker's running mean log2-F0,
    # which starts at ``prior_start_log2`` and averages over ``prior_s`` of voiced frames.
    prior_cost: float = 1.84
    prior_width_oct: float = 0.6
    prior_start_log2: float = 7.5
    prior_s: float = 2.0


TRACKER = TrackerParams()


class PitchTracker:
    """F0 of a stream's frames, a step at a time, with the state that links the steps.

    Parameters
    ----------
    config : FeatureConfig
    params : TrackerParams

    Notes
    -----
    :meth:`estimate` must see the steps in order; :meth:`reset` starts a new stream.
    """

    def __init__(self, config: FeatureConfig, params: TrackerParams = TRACKER) -> None:
        self.config = config
        self.params = params
        rate = config.sample_rate
        cutoff = max(params.lowpass_hz, 1.25 * config.f0_ceil_hz)
        # Read every q-th sample: at least analysis_rate_hz, and q divides the hop so that
        # every frame's samples lie on one grid.
        most = max(1, int(rate // max(params.analysis_rate_hz, 4 * cutoff)))
        self.decimation = q = max(d for d in range(1, most + 1) if config.hop_length % d == 0)
        # Lags in analysis samples (one per ``q`` input samples).
        self._min_lag = max(2, int(rate / config.f0_ceil_hz / q))
        self._max_lag = int(np.ceil(rate / config.f0_floor_hz / q))
        self._width = self._max_lag  # integration window: one longest period
        self._candidates = min(params.candidates, self._max_lag - self._min_lag + 1)
        self._length = self._max_lag + 1 + self._width  # analysis samples per frame
        # Windowed-sinc low-pass, transition band about as wide as the cutoff.
        n_taps = 2 * round(1.5 * rate / cutoff) + 1
        self._taps = firwin(n_taps, cutoff, fs=rate)
        self._half_taps = n_taps // 2
        # Samples read on either side of a frame centre.
        self.reach = q * max(self._max_lag + 1, self._width) + self._half_taps
        # Beta CDF of the thresholds, tabulated.
        grid = np.linspace(0.0, 1.0, 1001)
        a = params.threshold_mean * params.threshold_concentration
        b = (1 - params.threshold_mean) * params.threshold_concentration
        self._cdf_grid, self._cdf = grid, betainc(a, b, grid)
        hop_s = config.hop_length / rate
        self._level_decay = params.level_decay_db_per_s * hop_s
        self._recall_decay = math.exp(-hop_s / params.recall_s)
        self._prior_frames = params.prior_s / hop_s
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next :meth:`estimate` starts a new one."""
        self._level = self.params.level_start_db
        # Path costs of the previous frame's states (unvoiced, each candidate) and the
        # candidates' log2 F0: the stream starts unvoiced.
        self._cost_unvoiced = 0.0
        self._cost_voiced = np.full(self._candidates, np.inf)
        self._previous_log2 = np.zeros(self._candidates)
        self._recent_log2: float | None = None  # log2 F0 of the last voiced frame
        self._recent_weight = 0.0  # exp(-time since it / recall_s)
        self._prior = self.params.prior_start_log2
        self._voiced_frames = 0

    def estimate(self, window: FloatArray, centres: npt.NDArray[np.int64]) -> FloatArray:
        """F0 in Hz of the next frames of the stream, at sample positions ``centres`` of ``window``.

        Each frame reads ``window[centre - reach : centre + reach]``. Returns shape
        ``(n_frames,)``, 0 where unvoiced; updates the tracker's state.
        """
        log2_f0, cand_cost, voiced_cost, unvoiced_cost = self._evidence(window, centres)
        path = self._viterbi(log2_f0, cand_cost, voiced_cost, unvoiced_cost)
        f0 = np.zeros(len(centres))
        for t, state in enumerate(path):
            if state < 0:
                self._recent_weight *= self._recall_decay
                continue
            value = float(log2_f0[t, state])
            f0[t] = 2.0 ** value
            self._recent_log2 = value
            self._recent_weight = 1.0
            self._voiced_frames += 1
            self._prior += (value - self._prior) / min(self._voiced_frames + 1, self._prior_frames)
        return np.where(f0 > 0, np.clip(f0, self.config.f0_floor_hz, self.config.f0_ceil_hz), 0.0)

    def _evidence(self, window: FloatArray, centres: npt.NDArray[np.int64]
                  ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Candidates' log2 F0 and costs, (n, K) each, and the voicing costs, (n,) each."""
        p, q = self.params, self.decimation
        n_lags, width, length = self._max_lag + 1, self._width, self._length
        # Low-pass the span the frames read and keep every q-th sample (q divides the hop,
        # so all frames lie on one grid): low[i] is at window[first + q * i].
        first = int(centres[0]) - q * n_lags
        stop = int(centres[-1]) + q * width + 1
        span = window[first - self._half_taps:stop + self._half_taps]
        low = np.convolve(span, self._taps, mode="valid")[::q]
        starts = (centres - centres[0]) // q
        frames = low[starts[:, None] + np.arange(length)[None, :]]
        # d(tau) = sum_j (x_j - x_{j+tau})^2 over j in [0, width), tau = 0..n_lags.
        cross = np.array([np.correlate(frame, frame[:width], mode="valid") for frame in frames])
        squares = np.concatenate([[0.0], np.cumsum(low ** 2)])
        lags = starts[:, None] + np.arange(n_lags + 1)[None, :]
        shifted = squares[lags + width] - squares[lags]
        difference = shifted[:, :1] + shifted - 2 * cross
        cumulative = np.cumsum(difference[:, 1:], axis=1) / np.arange(1, n_lags + 1)
        normalised = difference[:, 1:] / np.maximum(cumulative, 1e-12)  # column j: lag j + 1
        power = shifted[:, 0] / width
        # Whole-band mean square over the same samples (the first ``width`` of each frame).
        inside = span[self._half_taps:-self._half_taps]  # window[first:stop]
        whole_squares = np.concatenate([[0.0], np.cumsum(inside ** 2)])
        whole = (whole_squares[q * (starts + width)] - whole_squares[q * starts]) / (q * width)
        # Local minima at lags min_lag..max_lag, the K deepest.
        lo, hi = self._min_lag, self._max_lag
        before, here, after = (normalised[:, lo - 2 + k:hi - 1 + k] for k in range(3))
        depth = np.where((here <= before) & (here < after), here, np.inf)
        k = self._candidates
        index = np.argpartition(depth, k - 1, axis=1)[:, :k]
        value = np.take_along_axis(depth, index, axis=1)
        found = np.isfinite(value)
        a, c = (np.take_along_axis(x, index, axis=1) for x in (before, after))
        curvature = np.where(found, a - 2 * value + c, 1.0)
        bent = curvature > 0
        shift = np.where(bent, 0.5 * (a - c) / np.where(bent, curvature, 1.0), 0.0)
        value = np.where(found, np.minimum(value, value - 0.25 * (a - c) * shift), 2.0)
        lag = q * (index + lo + shift)
        log2_f0 = np.log2(self.config.sample_rate / np.where(found, lag, q * lo))
        # pYIN: a dip's share of thresholds is those above it and at or below every
        # shorter lag's difference.
        shorter = np.minimum.accumulate(normalised[:, lo - 1:hi], axis=1)
        earlier = np.where(index > 0,
                           np.take_along_axis(shorter, np.maximum(index - 1, 0), axis=1), 1.0)
        cdf = np.interp(np.clip(earlier, 0, 1), self._cdf_grid, self._cdf) - \
            np.interp(np.clip(value, 0, 1), self._cdf_grid, self._cdf)
        share = np.where(found, np.maximum(cdf, 0.0), 0.0)
        n_found = np.maximum(found.sum(axis=1, keepdims=True), 1)
        total = share.sum(axis=1, keepdims=True) + p.eps * n_found
        cand_cost = np.where(found, -p.alpha * np.log((share + p.eps) / total), np.inf)
        # Voicing log-odds from the deepest dip and the low band's level.
        level_db = 10 * np.log10(power + 1e-10)
        running = np.empty(len(frames))
        for t, db in enumerate(level_db):
            self._level = running[t] = max(db, self._level - self._level_decay)
        relative = level_db - running
        tilt = np.clip(level_db - 10 * np.log10(whole + 1e-10), -30.0, 0.0)
        deepest = np.min(value, axis=1)
        odds = (p.voicing_bias + p.voicing_depth * deepest
                + p.voicing_level * np.maximum(relative, -80) + p.voicing_tilt * tilt)
        silent = (power < SILENCE_RMS ** 2) | ~found.any(axis=1)
        if np.isfinite(p.gate_db):
            around = max(1, self.config.hop_length // (2 * q))
            middle = starts + n_lags
            near = (squares[middle + around] - squares[middle - around]) / (2 * around)
            silent |= 10 * np.log10(near + 1e-12) < running + p.gate_db
        voiced_cost = np.where(silent, np.inf, np.logaddexp(0, -odds))
        unvoiced_cost = np.where(silent, 0.0, np.logaddexp(0, odds))
        return log2_f0, cand_cost, voiced_cost, unvoiced_cost

    def _viterbi(self, log2_f0: FloatArray, cand_cost: FloatArray, voiced_cost: FloatArray,
                 unvoiced_cost: FloatArray) -> list[int]:
        """Best state per frame (-1 unvoiced, else a candidate index); carries the path costs on.

        The search goes on from the costs of every state of the previous step's last frame
        (not just the one chosen there), so that hysteresis does not lock a voicing
        decision when a step holds a single frame.
        """
        p = self.params
        n, k = log2_f0.shape
        # Onset costs: from the last voiced F0 while it is recent, and from the speaker's mean.
        onset = np.full((n, k), p.onset_cost)
        if self._recent_log2 is not None:
            weights = self._recent_weight * self._recall_decay ** np.arange(n)
            distance = np.minimum(1.0, np.abs(log2_f0 - self._recent_log2))
            onset += p.recall_cost * distance * weights[:, None]
        observed = voiced_cost[:, None] + cand_cost + \
            p.prior_cost * np.maximum(0.0, np.abs(log2_f0 - self._prior) - p.prior_width_oct)
        # glide[t, j, i]: from candidate j of the frame before t to candidate i of frame t.
        before = np.vstack([self._previous_log2[None, :], log2_f0[:-1]])
        glide = p.glide_cost * np.maximum(
            0.0, np.abs(log2_f0[:, None, :] - before[:, :, None]) - p.free_glide_oct)
        cost_u, cost_v = self._cost_unvoiced, self._cost_voiced
        columns = np.arange(k)
        back_u, back_v = [], []
        for t in range(n):
            # Into unvoiced: from unvoiced, or from the best voiced state plus the offset cost.
            best_v = int(np.argmin(cost_v))
            from_v = cost_v[best_v] + p.offset_cost
            back_u.append(best_v if from_v < cost_u else -1)
            new_u = min(cost_u, from_v) + unvoiced_cost[t]
            # Into each candidate: from unvoiced (onset) or from each previous candidate.
            through = cost_v[:, None] + glide[t]
            best_from = np.argmin(through, axis=0)
            via_v = through[best_from, columns]
            via_u = cost_u + onset[t]
            back_v.append(np.where(via_u < via_v, -1, best_from))
            cost_v = np.minimum(via_u, via_v) + observed[t]
            cost_u = new_u
        lowest = min(cost_u, float(np.min(cost_v)))
        self._cost_unvoiced, self._cost_voiced = cost_u - lowest, cost_v - lowest
        self._previous_log2 = log2_f0[-1]
        state = -1 if cost_u <= np.min(cost_v) else int(np.argmin(cost_v))
        path = [state]
        for t in range(n - 1, 0, -1):
            state = back_u[t] if state < 0 else int(back_v[t][state])
            path.append(state)
        return path[::-1]


def continue_periodically(signal: FloatArray, period: float, length: int) -> FloatArray:
    """``signal`` continued to ``length`` samples by ``x(t) = x(t - k * period)``, read from the
    last period of ``signal`` (linear interpolation, so no loss builds up over periods)."""
    n = len(signal)
    if length <= n:
        return signal
    t = np.arange(n, length)
    source = t - period * np.ceil((t - (n - 1)) / period)
    whole = np.floor(source).astype(np.int64)
    frac = source - whole
    tail = signal[whole] * (1 - frac) + signal[np.minimum(whole + 1, n - 1)] * frac
    return np.concatenate([signal, tail])


def refine_causal(window: FloatArray, real_stop: int, f0_hz: FloatArray, times_s: FloatArray,
                  config: FeatureConfig) -> FloatArray:
    """StoneMask refinement of ``f0_hz`` at ``times_s`` from ``window[:real_stop]`` only.

    Returns shape ``(n_frames,)``.

    Where StoneMask (1.5 periods either side of a frame) would read past ``real_stop``, it
    reads the signal continued with the period of the last voiced frame.
    """
    voiced = np.flatnonzero(f0_hz > 0)
    if len(voiced) == 0:
        return np.zeros_like(f0_hz)
    rate = config.sample_rate
    reads_to = int(np.max(times_s[voiced] * rate + 1.5 * rate / f0_hz[voiced])) + 4
    if reads_to >= real_stop:
        window = continue_periodically(window[:real_stop], rate / f0_hz[voiced[-1]], reads_to + 1)
    return refine_f0(window, f0_hz, times_s, config)
