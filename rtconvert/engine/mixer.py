"""The last stage: silence gate, wet/dry cross-fade against a delayed dry signal, gain, limiter.

The converted ("wet") samples leave synthesis in stream order, starting at stream sample 0,
so the dry signal they are mixed with is the model-rate input delayed by exactly as much:
the mixer keeps it in its own delay line, fed as input arrives and read as wet samples come.
Then the output gain, and a limiter so that nothing is ever clipped.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..dsp.levels import db_to_gain, gain_to_db
from ..settings import Ramp
from .samplequeue import SampleQueue

FloatArray = npt.NDArray[np.float64]

#: The gate stays open this long after the level falls below its threshold.
GATE_HOLD_S = 0.15
#: A closed gate opens only this far above its threshold, so a level hovering at the
#: threshold does not flutter.
GATE_HYSTERESIS_DB = 3.0
#: Time for the output to cross-fade between converted speech and the input (gate, bypass).
CROSSFADE_S = 0.02


class Gate:
    """Open above a threshold; closed once the level stayed below it for ``GATE_HOLD_S``.

    Starts closed: the first speech opens it.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.open, self._below_s = False, 0.0

    def process(self, level_db: float, threshold_db: float, duration_s: float) -> bool:
        """Update with the level of the newest ``duration_s`` of input; returns whether open."""
        if level_db > threshold_db + (0.0 if self.open else GATE_HYSTERESIS_DB):
            self.open, self._below_s = True, 0.0
        elif self.open:
            self._below_s += duration_s
            if self._below_s >= GATE_HOLD_S:
                self.open = False
        return self.open


class Gain:
    """A gain in dB that glides across a block when it changes, so changes never click."""

    def __init__(self, db: float = 0.0) -> None:
        self._gain = db_to_gain(db)

    def process(self, block: FloatArray, db: float) -> FloatArray:
        """``block`` times the gain, ramping from the previous gain when ``db`` changed."""
        previous, gain = self._gain, db_to_gain(db)
        if previous == gain:
            return block * gain
        self._gain = gain
        return block * np.linspace(previous, gain, len(block) + 1)[1:]


class Mixer:
    """Cross-fades converted samples with the equally delayed input, then gain and limiter.

    Parameters
    ----------
    sample_rate : int
        Rate of the samples given to :meth:`push_dry` and :meth:`process`.
    gain_db : float
        The output gain to start with.
    """

    def __init__(self, sample_rate: int, gain_db: float = 0.0) -> None:
        self.sample_rate = sample_rate
        self._dry = SampleQueue()
        self._wet = Ramp(0.0, CROSSFADE_S * sample_rate)  # starts dry
        self._gain = Gain(gain_db)
        self.limiter = Limiter(sample_rate)

    def push_dry(self, samples: FloatArray) -> None:
        """Input samples, in stream order, as they arrive."""
        self._dry.push(samples)

    def process(self, wet: FloatArray, wet_share: float, gain_db: float) -> FloatArray:
        """Mix the next ``len(wet)`` stream samples, gliding toward ``wet_share`` (0 dry, 1 wet)."""
        dry, _ = self._dry.pop(len(wet))
        mix = self._wet.step(wet_share, len(wet))[:, 0]
        return self.limiter.process(self._gain.process(mix * wet + (1.0 - mix) * dry, gain_db))


#: The limiter's output never exceeds this (sample peak), leaving room for the resampler's
#: overshoot below 0 dBFS.
CEILING_DB = -1.0
#: Where the limiter's gain envelope starts working and the soft clipper's knee begins.
LIMIT_THRESHOLD_DB = -3.0
#: The envelope looks at the signal in chunks this long and recovers with this time constant.
LIMIT_CHUNK_S = 0.0025
LIMIT_RELEASE_S = 0.15


def soft_clip(samples: FloatArray, threshold: float, ceiling: float) -> FloatArray:
    """Identity below ``threshold``; above, bends smoothly toward ``ceiling``, never past it."""
    magnitude = np.abs(samples)
    over = magnitude > threshold
    if not over.any():
        return samples
    knee = ceiling - threshold
    bent = threshold + knee * np.tanh((magnitude - threshold) / knee)
    return np.where(over, np.sign(samples) * bent, samples)


class Limiter:
    """A peak limiter that adds no latency: a fast gain envelope, then a soft clipper.

    The envelope brings peaks down to ``LIMIT_THRESHOLD_DB`` within a chunk and lets go
    with ``LIMIT_RELEASE_S``; what it misses at an attack the soft clipper bends under
    ``CEILING_DB``, so no sample ever exceeds the ceiling. Fed in steps of whole chunks,
    its output does not depend on how the stream was cut.

    Parameters
    ----------
    sample_rate : int
    """

    def __init__(self, sample_rate: int) -> None:
        self.chunk = max(1, round(LIMIT_CHUNK_S * sample_rate))
        self.release = float(np.exp(-self.chunk / (LIMIT_RELEASE_S * sample_rate)))
        self.threshold, self.ceiling = db_to_gain(LIMIT_THRESHOLD_DB), db_to_gain(CEILING_DB)
        self.reset()

    def reset(self) -> None:
        self.gain = 1.0
        self.reduction_db = 0.0  # the deepest gain reduction since the last read
        self.limited_samples = 0  # samples the clipper bent

    def read_reduction_db(self) -> float:
        """The deepest gain reduction (dB, at most 0) since the last read; starts a new one."""
        deepest = self.reduction_db
        self.reduction_db = gain_to_db(self.gain)
        return deepest

    def process(self, samples: FloatArray) -> FloatArray:
        """Limit consecutive samples; returns as many."""
        n = len(samples)
        magnitude = np.abs(samples)
        if self.gain == 1.0 and (not n or magnitude.max() <= self.threshold):
            return samples  # nothing to limit (most steps): the loop below would keep gain 1
        peaks = np.maximum.reduceat(magnitude, np.arange(0, n, self.chunk)) if n else []
        gains = np.empty(len(peaks) + 1)
        gains[0] = gain = self.gain
        for i, peak in enumerate(peaks):
            wanted = min(1.0, self.threshold / peak) if peak > 0 else 1.0
            gain = wanted if wanted < gain else wanted + (gain - wanted) * self.release
            gains[i + 1] = gain
        self.gain = gain
        position = np.arange(1, n + 1) / self.chunk
        envelope = np.interp(position, np.arange(len(gains)), gains)
        out = soft_clip(samples * envelope, self.threshold, self.ceiling)
        self.limited_samples += int(np.count_nonzero(np.abs(samples * envelope) > self.threshold))
        self.reduction_db = min(self.reduction_db, gain_to_db(gains.min()))
        return out
