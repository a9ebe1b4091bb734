"""The conversion stage: runs the generator on each step's frames and applies its changes to them.

A converter returns the changes of its frames ``lookahead_frames`` late (it needs that
much future), so the stage delays the frames themselves by as much before it changes
them, and drops the first ``lookahead_frames`` outputs, which precede the stream. What
leaves the stage is whole WORLD frames in stream order from frame 0, with the log-F0
residual that the prosody stage adds after its mean/spread shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..dsp.features import WorldFeatures
from ..modelio import SpeakerLevels, speech_weight
from .generator import Converter

FloatArray = npt.NDArray[np.float64]

#: The generator's energy change follows its own value smoothed over about this long (a
#: causal one-pole): emotion moves the level of syllables, and the change's flutter from
#: phone to phone only roughened the voice (DNSMOS, docs/quality.md).
ENERGY_SMOOTHING_MS = 50.0


class FrameDelay:
    """Delays several streams of frames (arrays with frames along axis 0) by ``n_frames``."""

    def __init__(self, n_frames: int) -> None:
        self.n_frames = n_frames
        self.reset()

    def reset(self) -> None:
        self._held: list[np.ndarray] | None = None

    def push(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Append each array's frames and return as many of each stream's oldest."""
        if self._held is None:
            # Before the first frame the past is a copy of it, not digital silence.
            self._held = [np.repeat(a[:1], self.n_frames, axis=0) for a in arrays]
        joined = [np.concatenate([held, a]) for held, a in zip(self._held, arrays)]
        self._held = [j[len(j) - self.n_frames:] for j in joined]
        return [j[:len(j) - self.n_frames] for j in joined]


@dataclass
class ConvertedFrames:
    """Frames that left the conversion stage, with what goes with them."""

    features: WorldFeatures  # mel-cepstra (energy included) and aperiodicity changed
    lf0_residual: FloatArray  # (n_frames,): z-units of the target log-F0 statistics
    condition: FloatArray  # (n_frames, n_emotions): the emotion mixture at each frame
    speech: FloatArray  # (n_frames,): how much of each input frame is speech (speech_weight)

    @property
    def n_frames(self) -> int:
        return self.features.n_frames


class ConversionStage:
    """Converts frames with ``converter`` and keeps each change on its own frame.

    Parameters
    ----------
    converter : Converter
        The bundle's generator, or the identity.
    n_mcep, n_bap : int
        Mel-cepstral coefficients and band aperiodicities per frame.
    frame_period_ms : float
        Time between frames.
    """

    def __init__(self, converter: Converter, n_mcep: int, n_bap: int,
                 frame_period_ms: float) -> None:
        self.converter = converter
        self.lookahead_frames = converter.lookahead_frames
        self._delay = FrameDelay(self.lookahead_frames)
        self._energy_pole = math.exp(-frame_period_ms / ENERGY_SMOOTHING_MS)
        self.reset()

    def reset(self) -> None:
        self.converter.reset()
        self._delay.reset()
        self._frames_to_skip = self.lookahead_frames
        self._energy_change: float | None = None

    def _smooth_energy(self, change: FloatArray) -> None:
        """Smooth the energy changes of consecutive frames in place."""
        pole = self._energy_pole
        for i, value in enumerate(change.tolist()):
            last = value if self._energy_change is None else self._energy_change
            change[i] = self._energy_change = pole * last + (1.0 - pole) * value

    def process(self, features: WorldFeatures, condition: FloatArray,
                speaker: SpeakerLevels) -> ConvertedFrames:
        """Convert one step's frames toward ``condition``.

        Parameters
        ----------
        features : WorldFeatures
            The step's newly analysed frames.
        condition : ndarray, shape (n_frames, n_emotions)
            The emotion mixture at each of those frames; the converter runs with the last.
        speaker : SpeakerLevels
            The live speaker's statistics the generator's inputs are relative to.

        Returns
        -------
        ConvertedFrames
            The frames now due, oldest first (none at the very start of a stream).
        """
        self.converter.set_condition(condition[-1])
        changes = self.converter.process(features, speaker)
        self._smooth_energy(changes.mcep[:, 0])
        # The changes are lookahead_frames late: so are the frames and their condition rows.
        skip = min(self._frames_to_skip, features.n_frames)
        self._frames_to_skip -= skip
        f0, mcep, bap, lf0, condition = (a[skip:] for a in self._delay.push(
            features.f0_hz, features.mcep, features.bap, features.lf0, condition))
        speech = speech_weight(mcep[:, 0], speaker.c0_mean)
        converted = WorldFeatures(f0, mcep + speech[:, None] * changes.mcep[skip:],
                                  bap + speech[:, None] * changes.bap[skip:], lf0)
        return ConvertedFrames(converted, changes.lf0_residual[skip:], condition, speech)
