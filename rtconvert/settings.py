"""The converter's live controls: validated settings and ramps that turn their jumps into glides."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import ConfigError

FloatArray = npt.NDArray[np.float64]

#: The emotion that means "no change".
NEUTRAL = "neutral"
#: The emotion a fresh session starts with, in `rtconvert run` and in the app alike: an
#: audible change (neutral would sound like nothing works) that suits most uses.
DEFAULT_EMOTION = "happy"


def choices(emotions: tuple[str, ...]) -> tuple[str, ...]:
    """Every emotion a user may pick for a model of ``emotions``: neutral (no change) first."""
    return (NEUTRAL, *emotions)


def default_emotion(emotions: tuple[str, ...]) -> str:
    """``DEFAULT_EMOTION`` if the model converts to it, else its first emotion."""
    return DEFAULT_EMOTION if DEFAULT_EMOTION in emotions else (emotions or (NEUTRAL,))[0]


@dataclass(frozen=True)
class Settings:
    """What the user controls; replaced as a whole, so the audio thread sees one consistent set."""

    emotion: str = NEUTRAL
    intensity: float = 0.5  # 0 none, 0.5 the corpus's normal, 1 its strong intensity
    bypass: bool = False  # output the (equally delayed) input instead
    gate_db: float = -55.0  # below this input level, output the input; -inf disables
    input_gain_db: float = 0.0
    output_gain_db: float = 0.0

    def validate(self, emotions: tuple[str, ...]) -> Settings:
        """Return self, or raise ConfigError naming the bad value and what is allowed."""
        if self.emotion != NEUTRAL and self.emotion not in emotions:
            raise ConfigError(f"unknown emotion {self.emotion!r}; choose one of "
                              f"{', '.join(choices(emotions))}")
        if not 0.0 <= self.intensity <= 1.0:
            raise ConfigError(f"intensity {self.intensity} is out of range; use 0 to 1 "
                              "(0.5 normal, 1 strong)")
        for name in ("input_gain_db", "output_gain_db"):
            if not -60.0 <= getattr(self, name) <= 24.0:
                raise ConfigError(f"{name} {getattr(self, name)} is out of range -60..24 dB")
        if math.isnan(self.gate_db) or self.gate_db > 0:
            raise ConfigError(f"gate_db {self.gate_db} must be at most 0 dB (or -inf)")
        return self

    def condition(self, emotions: tuple[str, ...]) -> FloatArray:
        """The generator's condition: the intensity at the chosen emotion, 0 elsewhere."""
        vector = np.zeros(len(emotions))
        if self.emotion != NEUTRAL and not self.bypass:
            vector[emotions.index(self.emotion)] = self.intensity
        return vector


class Ramp:
    """A value that follows its target in straight lines of bounded slope.

    ``step`` advances by ``n`` ticks and returns the value after each; a full swing
    of 1 takes ``ticks_per_unit`` ticks, so a jump in the target never reaches the
    output as a jump.
    """

    def __init__(self, initial: FloatArray | float, ticks_per_unit: float) -> None:
        self.value = np.atleast_1d(np.asarray(initial, dtype=float)).copy()
        self.slope = 1.0 / ticks_per_unit
        self._resting: FloatArray | None = None  # ``value`` repeated, while it is at rest

    def step(self, target: FloatArray | float, n: int) -> FloatArray:
        """Values after ticks 1..n; shape (n, size), read-only."""
        if n and (self.value == target).all():  # at rest, as nearly always: no arithmetic
            resting = self._resting
            if resting is None or len(resting) != n:
                resting = self._resting = np.repeat(self.value[None], n, axis=0)
                resting.flags.writeable = False
            return resting
        self._resting = None
        target = np.broadcast_to(np.asarray(target, dtype=float), self.value.shape)
        reach = self.slope * np.arange(1, n + 1)[:, None]
        values = self.value + np.clip(target - self.value, -reach, reach)
        if n:
            self.value = values[-1].copy()
        return values
