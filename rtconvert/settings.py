"""The converter's live controls: validated settings and ramps that turn their jumps into glides."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

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


def parse_mixture(text: str, emotions: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """The weights of an emotion (``happy``) or of a mixture (``happy=0.6,surprised=0.4``).

    Weights are relative and come back normalised to sum 1, in the order given; a name
    without ``=`` weighs 1. Raises ConfigError naming the bad part and what is allowed.
    """
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.strip().lower().partition("=")
        name = name.strip()
        if name not in choices(emotions):
            raise ConfigError(f"unknown emotion {name!r}; choose one of "
                              f"{', '.join(choices(emotions))}, or mix them as happy=0.6,sad=0.4")
        if name in weights:
            raise ConfigError(f"emotion {name!r} appears twice in {text!r}")
        try:
            weights[name] = float(weight) if weight.strip() else 1.0
        except ValueError:
            raise ConfigError(f"{name}: weight {weight.strip()!r} is not a number") from None
        if not 0.0 <= weights[name] < math.inf:
            raise ConfigError(f"{name}: weight {weights[name]} must be 0 or more")
    total = sum(weights.values())
    if total <= 0.0:
        raise ConfigError(f"the weights of {text!r} sum to 0")
    return tuple((name, w / total) for name, w in weights.items() if w > 0.0)


def mixture_text(weights: tuple[tuple[str, float], ...]) -> str:
    """The canonical text of a mixture: a lone emotion by its name, else ``a=0.6,b=0.4``."""
    if len(weights) == 1:
        return weights[0][0]
    return ",".join(f"{name}={round(w, 3):g}" for name, w in weights)


def default_emotion(emotions: tuple[str, ...]) -> str:
    """``DEFAULT_EMOTION`` if the model converts to it, else its first emotion."""
    return DEFAULT_EMOTION if DEFAULT_EMOTION in emotions else (emotions or (NEUTRAL,))[0]


@dataclass(frozen=True)
class Settings:
    """What the user controls; replaced as a whole, so the audio thread sees one consistent set."""

    emotion: str = NEUTRAL  # a name, or a mixture: "happy=0.6,surprised=0.4" (parse_mixture)
    intensity: float = 0.5  # 0 none, 0.5 the corpus's normal, 1 its strong intensity
    bypass: bool = False  # output the (equally delayed) input instead
    gate_db: float = -55.0  # below this input level, output the input; -inf disables
    input_gain_db: float = 0.0
    output_gain_db: float = 0.0

    def validate(self, emotions: tuple[str, ...]) -> Settings:
        """Self with the emotion in canonical form, or ConfigError naming the bad value."""
        emotion = mixture_text(parse_mixture(self.emotion, emotions))
        if not 0.0 <= self.intensity <= 1.0:
            raise ConfigError(f"intensity {self.intensity} is out of range; use 0 to 1 "
                              "(0.5 normal, 1 strong)")
        for name in ("input_gain_db", "output_gain_db"):
            if not -60.0 <= getattr(self, name) <= 24.0:
                raise ConfigError(f"{name} {getattr(self, name)} is out of range -60..24 dB")
        if math.isnan(self.gate_db) or self.gate_db > 0:
            raise ConfigError(f"gate_db {self.gate_db} must be at most 0 dB (or -inf)")
        return self if emotion == self.emotion else replace(self, emotion=emotion)

    def condition(self, emotions: tuple[str, ...]) -> FloatArray:
        """The generator's condition: the intensity times each emotion's weight (neutral's
        weight only dilutes the others)."""
        vector = np.zeros(len(emotions))
        if not self.bypass:
            for name, weight in parse_mixture(self.emotion, emotions):
                if name != NEUTRAL:
                    vector[emotions.index(name)] = self.intensity * weight
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
