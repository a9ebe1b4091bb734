"""Where a stream's processing time goes: seconds per stage, and how long each step took."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

#: The stages the engine times.
STAGES = ("analysis", "speaker", "model", "prosody", "synthesis", "resampling", "denoising")
#: Steps whose times are kept (the newest): 160 s of 10 ms steps.
STEP_HISTORY = 16384

_Result = TypeVar("_Result")


class StageTimes:
    """The engine's clock, kept on the audio thread without allocating.

    ``seconds`` maps each of ``STAGES`` to the seconds spent in it since the reset;
    :meth:`step_seconds` gives the time of each of the last ``STEP_HISTORY`` steps.
    """

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.n_steps = 0
        self._steps = np.zeros(STEP_HISTORY)

    def run(self, stage: str, function: Callable[..., _Result], *args: Any) -> _Result:
        """``function(*args)``, its time added to ``stage``."""
        began = perf_counter()
        result = function(*args)
        self.seconds[stage] += perf_counter() - began
        return result

    def step_done(self, seconds: float) -> None:
        """Record the time one step took, from its analysis to its resampled output."""
        self._steps[self.n_steps % STEP_HISTORY] = seconds
        self.n_steps += 1

    def step_seconds(self) -> npt.NDArray[np.float64]:
        """Times of the last ``min(n_steps, STEP_HISTORY)`` steps, in no particular order."""
        return self._steps[:min(self.n_steps, STEP_HISTORY)].copy()

    def shares(self) -> dict[str, float]:
        """Each stage's share of the time spent in all of them."""
        total = sum(self.seconds.values()) or 1.0
        return {stage: seconds / total for stage, seconds in self.seconds.items()}
