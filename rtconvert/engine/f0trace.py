"""The last few seconds of input and output F0, written by the engine per step, read by the UI."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .pairring import PairRing

FloatArray = npt.NDArray[np.float64]

#: Seconds of F0 the engine keeps for display.
TRACE_S = 4.0
#: Frames a reader leaves out: many steps' worth, as a slow UI thread may be preempted.
_MARGIN_FRAMES = 64


class F0Trace(PairRing):
    """Input and output F0 in Hz (0 = unvoiced) of the newest frames, aligned frame by frame.

    The engine pushes each step's frames (on the audio worker, copies only, no lock); a
    UI timer reads :meth:`snapshot`.

    Parameters
    ----------
    seconds : float
        How much to keep.
    frame_period_ms : float
        Spacing of the frames.
    """

    def __init__(self, seconds: float, frame_period_ms: float) -> None:
        frames = round(1000 * seconds / frame_period_ms)
        super().__init__(frames + _MARGIN_FRAMES, np.float64, _MARGIN_FRAMES)
        self.frame_period_ms = frame_period_ms

    def snapshot(self) -> FloatArray:
        """Rows input and output F0, oldest frame first: shape (2, n_frames)."""
        return self.latest()
