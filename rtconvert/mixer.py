"""The last stage before the output: silence gate, wet/dry cross-fade against a delayed dry signal, gains.

The converted ("wet") samples leave synthesis in stream order, starting at stream sample 0,
so the dry signal they are mixed with is the model-rate input delayed by exactly as much:
the mixer keeps it in its own delay line, fed as input arrives and read as wet samples come.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .controls import Ramp
from .levels import db_to_gain
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


class WetDryMixer:
    """Cross-fades converted samples with the equally delayed input.

    Parameters
    ----------
    sample_rate : int
        Rate of the samples given to :meth:`push_dry` and :meth:`process`.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.reset()

    def reset(self) -> None:
        self._dry = SampleQueue()
        self._wet = Ramp(0.0, CROSSFADE_S * self.sample_rate)  # starts dry

    def push_dry(self, samples: FloatArray) -> None:
        """Input samples, in stream order, as they arrive."""
        self._dry.push(samples)

    def process(self, wet: FloatArray, wet_share: float) -> FloatArray:
        """Mix the next ``len(wet)`` stream samples, gliding toward ``wet_share`` (0 dry, 1 wet)."""
        dry, _ = self._dry.pop(len(wet))
        mix = self._wet.step(wet_share, len(wet))[:, 0]
        return mix * wet + (1.0 - mix) * dry
