"""Causal F0 for the live engine: periodicity candidates per frame, tracked step by step.

DIO decides voicing over whole contours and zeroes the frames within about 35 ms of a
signal's ends, so a streaming analysis with a latency profile's lookahead (a few ms:
``analysis_lookahead_s`` in :mod:`.profiles`) would see nothing voiced. The stream's
estimator reads only the samples around each frame (``PitchTracker.reach`` of them on
each side) and carries a little state from step to step:

1. **Periodicity** (:mod:`.periodicity`). The window is low-passed at 1 kHz (all of F0's
   range, little of the formants above, none of the fricatives) and read at ~8 kHz. For
   each frame, YIN's cumulative mean normalised difference (de Cheveigné & Kawahara,
   2002) of one longest period with itself shifted by each candidate period gives up to
   ``candidates`` local minima, each with a probability in the manner of pYIN (Mauch &
   Dixon, 2014): the share of thresholds, drawn from a beta distribution, for which it is
   the first dip below threshold. That prefers the shortest good period over its
   multiples.
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
(``docs/pitch.md``). :func:`.periodicity.yin_f0`, plain YIN with a fixed threshold and no state, was
the engine's estimator before and stays as the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..config import FeatureConfig
from .features import refine_f0
from .periodicity import SILENCE_RMS, FramePeriodicity, lag_range

FloatArray = npt.NDArray[np.float64]


def half_span(config: FeatureConfig) -> int:
    """Samples F0 estimation reads on each side of a frame centre (YIN or the tracker)."""
    return max(lag_range(config)[1], PitchTracker(config).reach)


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
    level_start_db: float = -math.inf
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
#: Added to powers before taking decibels: far below any microphone's noise (-200 dB), so
#: that no decision depends on how loud the input is (a low mic gain, a quiet recording).
_POWER_FLOOR = 1e-20


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
        self._periodicity = FramePeriodicity(
            config, params.lowpass_hz, params.analysis_rate_hz, params.candidates,
            params.threshold_mean, params.threshold_concentration, params.alpha, params.eps)
        self.decimation = self._periodicity.decimation
        self._candidates = self._periodicity.candidates
        #: Samples read on either side of a frame centre.
        self.reach = self._periodicity.reach
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
        p = self.params
        measured = self._periodicity(window, centres)
        dips, power = measured.dips, measured.power
        # Voicing log-odds from the deepest dip and the low band's level.
        level_db = 10 * np.log10(power + _POWER_FLOOR)
        running = np.empty(len(level_db))
        level = self._level
        for t, db in enumerate(level_db.tolist()):
            level = running[t] = max(db, level - self._level_decay)
        self._level = level
        tilt = np.minimum(np.maximum(level_db - 10 * np.log10(measured.whole + _POWER_FLOOR),
                                     -30.0),
                          0.0)
        odds = (p.voicing_bias + p.voicing_depth * dips.deepest
                + p.voicing_level * np.maximum(level_db - running, -80) + p.voicing_tilt * tilt)
        silent = (power < SILENCE_RMS ** 2) | ~dips.found
        if np.isfinite(p.gate_db):
            silent |= 10 * np.log10(measured.near + _POWER_FLOOR) < running + p.gate_db
        voiced_cost = np.where(silent, np.inf, np.logaddexp(0, -odds))
        unvoiced_cost = np.where(silent, 0.0, np.logaddexp(0, odds))
        return dips.log2_f0, dips.cost, voiced_cost, unvoiced_cost

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
        if self._recent_log2 is not None:
            weights = self._recent_weight * self._recall_decay ** np.arange(n)
            distance = np.minimum(1.0, np.abs(log2_f0 - self._recent_log2))
            onset = p.onset_cost + p.recall_cost * distance * weights[:, None]
        else:
            onset = np.full((n, k), p.onset_cost)
        observed = voiced_cost[:, None] + cand_cost + \
            p.prior_cost * np.maximum(0.0, np.abs(log2_f0 - self._prior) - p.prior_width_oct)
        # glide[t, j, i]: from candidate j of the frame before t to candidate i of frame t.
        before = np.concatenate((self._previous_log2[None, :], log2_f0[:-1]))
        glide = p.glide_cost * np.maximum(
            0.0, np.abs(log2_f0[:, None, :] - before[:, :, None]) - p.free_glide_oct)
        cost_u, cost_v = self._cost_unvoiced, self._cost_voiced
        columns = np.arange(k)
        back_u, back_v = [], []
        for t in range(n):
            # Into unvoiced: from unvoiced, or from the best voiced state plus the offset cost.
            best_v = int(cost_v.argmin())
            from_v = cost_v[best_v] + p.offset_cost
            back_u.append(best_v if from_v < cost_u else -1)
            new_u = min(cost_u, from_v) + unvoiced_cost[t]
            # Into each candidate: from unvoiced (onset) or from each previous candidate.
            through = cost_v[:, None] + glide[t]
            best_from = through.argmin(axis=0)
            via_v = through[best_from, columns]
            via_u = cost_u + onset[t]
            back_v.append(np.where(via_u < via_v, -1, best_from))
            cost_v = np.minimum(via_u, via_v) + observed[t]
            cost_u = new_u
        best_v = int(cost_v.argmin())
        lowest_v = float(cost_v[best_v])
        lowest = min(cost_u, lowest_v)
        self._cost_unvoiced, self._cost_voiced = cost_u - lowest, cost_v - lowest
        self._previous_log2 = log2_f0[-1]
        state = -1 if cost_u <= lowest_v else best_v
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
