"""What the live stream reports: levels, dropouts, load and the limiter, and its status line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.engine import Engine

#: A conversion that waited longer than this, ready to run but not running, was held up by
#: the host: other processes, the kernel, a paused virtual CPU, or a thread they preempted
#: while it held the interpreter lock.
HELD_UP_S = 0.001
#: How fast the shown gain reduction of the limiter returns to 0 dB (dB/s), like a meter's
#: fall: a reduction stays visible for a moment after the peak that caused it.
LIMITER_FALL_DB_S = 10.0


@dataclass
class LiveStatus:
    """What the UI and the headless status line show; written by the audio thread."""

    input_db: float = -120.0
    output_db: float = -120.0
    input_overflows: int = 0
    output_underflows: int = 0  # reported by the device (PortAudio status flags)
    late_blocks: int = 0  # blocks the worker had not converted in time (played with gaps)
    held_up: int = 0  # conversions the host kept waiting over HELD_UP_S (:meth:`waited`)
    callbacks: int = 0
    load: float = 0.0  # processing time per block / block duration, smoothed
    limiter_db: float = 0.0  # the limiter's gain reduction, held and released at LIMITER_FALL_DB_S
    limited_samples: int = 0  # samples the limiter's soft clipper bent since the start
    headroom_ms: float = 0.0  # converted audio queued ahead of the device (grows under load)
    headroom_fixed: bool = False  # held where the user set it (--fixed-headroom)
    error: str | None = None
    # time.monotonic() when the microphone's first sample, converted, went to the device
    first_audio_at: float | None = None

    @property
    def underruns(self) -> int:
        """Gaps in the output: the device's own underflows and blocks converted too late."""
        return self.output_underflows + self.late_blocks

    def meter(self, engine: Engine, seconds: float, block_s: float) -> None:
        """Update from ``engine`` after it converted ``block_s`` of audio in ``seconds``."""
        self.load = 0.95 * self.load + 0.05 * seconds / block_s
        self.input_db, self.output_db = engine.input_db, engine.output_db
        limiter = engine.mixer.limiter
        released = self.limiter_db + LIMITER_FALL_DB_S * block_s
        self.limiter_db = min(0.0, released, limiter.read_reduction_db())
        self.limited_samples = limiter.limited_samples

    def waited(self, seconds: float) -> None:
        """A conversion waited ``seconds`` in all for the CPU (or the interpreter lock)."""
        if seconds > HELD_UP_S:
            self.held_up += 1

    def line(self, latency_s: float) -> str:
        """The one-line summary ``rtconvert run`` keeps rewriting."""
        return (f"in {self.input_db:6.1f} dB  out {self.output_db:6.1f} dB  "
                f"latency {1000 * latency_s:.1f} ms (headroom {self.headroom_ms:.1f}"
                f"{' fixed' if self.headroom_fixed else ''})  "
                f"load {100 * self.load:3.0f}%  "
                f"underruns {self.underruns}  overruns {self.input_overflows}  "
                f"limiter {self.limiter_db:5.1f} dB")
