"""The conversion stage: runs the converter on each step's frames and aligns F0 and aperiodicity to its output.

A converter returns its frames ``lookahead_frames`` late (it needs that much future), so
the stage delays the frames' F0 and band aperiodicity by as much, and drops the first
``lookahead_frames`` outputs, which precede the stream. What leaves the stage is whole
WORLD frames, in stream order from frame 0, ready for prosody and synthesis.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .features import WorldFeatures
from .model import Converter, FrameDelay

FloatArray = npt.NDArray[np.float64]


class ConversionStage:
    """Converts frames with ``converter`` and keeps F0 and aperiodicity in step with it.

    Parameters
    ----------
    converter : Converter
        The mel-cepstrum converter (the bundle's generator, or the identity).
    n_bap : int
        Band aperiodicities per frame.
    """

    def __init__(self, converter: Converter, n_bap: int) -> None:
        self.converter = converter
        self.lookahead_frames = converter.lookahead_frames
        self._f0_delay = FrameDelay(self.lookahead_frames, 1)
        self._bap_delay = FrameDelay(self.lookahead_frames, n_bap)
        self.reset()

    def reset(self) -> None:
        self.converter.reset()
        self._f0_delay.reset()
        self._bap_delay.reset()
        self._frames_to_skip = self.lookahead_frames

    def process(self, features: WorldFeatures, condition: FloatArray
                ) -> tuple[WorldFeatures, FloatArray]:
        """Convert one step's frames toward ``condition``.

        Parameters
        ----------
        features : WorldFeatures
            The step's newly analysed frames.
        condition : ndarray, shape (n_frames, n_emotions)
            The emotion mixture at each of those frames; the converter runs with the last.

        Returns
        -------
        frames : WorldFeatures
            Converted frames now due, oldest first (none at the very start of a stream).
        condition : ndarray, shape (n_due, n_emotions)
            The rows of ``condition`` that go with them.
        """
        self.converter.set_condition(condition[-1])
        mcep = self.converter.process(features.mcep)
        f0 = self._f0_delay.push(features.f0_hz[:, None])[:, 0]
        bap = self._bap_delay.push(features.bap)
        skip = min(self._frames_to_skip, features.n_frames)
        self._frames_to_skip -= skip
        return WorldFeatures(f0[skip:], mcep[skip:], bap[skip:]), condition[skip:]
