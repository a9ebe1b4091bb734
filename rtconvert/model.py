"""Frame converters: the ONNX Runtime generator and the identity, behind one small interface.

A converter consumes WORLD frames as they arrive and returns the changes of as many
frames, ``lookahead_frames`` late: the generator needs that much future. The identity
converter declares the same lookahead, so bypass, intensity 0 and the model stay
time-aligned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import onnxruntime

from .bundle import Bundle
from .errors import BundleError
from .features import WorldFeatures
from .modelio import FrameChanges, SpeakerLevels, frame_changes, model_inputs

FloatArray = npt.NDArray[np.float64]


def open_session(path: str | Path, threads: int = 1) -> onnxruntime.InferenceSession:
    """An ONNX Runtime CPU session; one thread by default, the live engine's budget.

    Raises
    ------
    BundleError
        If the file is not a loadable ONNX graph.
    """
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    try:
        return onnxruntime.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several unrelated types for bad graphs
        raise BundleError(f"{path}: ONNX Runtime cannot load the graph ({exc})") from exc


class Converter(Protocol):
    """Streams WORLD frames through the generator: changes for each, ``lookahead_frames`` late."""

    lookahead_frames: int

    def set_condition(self, condition: FloatArray) -> None:
        """Intensity per emotion, shape (n_emotions,); used from the next ``process``."""

    def process(self, features: WorldFeatures, speaker: SpeakerLevels) -> FrameChanges:
        """Take new frames, return the changes of as many frames, ``lookahead_frames`` older."""

    def reset(self) -> None:
        """Forget the stream: start again from silence."""


class FrameDelay:
    """Holds the last ``n_frames`` rows of a (frames, width) stream, to delay it that much."""

    def __init__(self, n_frames: int, width: int) -> None:
        self.n_frames, self.width = n_frames, width
        self.reset()

    def reset(self) -> None:
        self.buffer = np.zeros((self.n_frames, self.width))
        self.started = False

    def push(self, frames: FloatArray) -> FloatArray:
        """Append ``frames`` and return as many of the oldest ones."""
        if not self.started:
            # Before the first frame the past is a copy of it, not digital silence.
            self.buffer[:] = frames[0]
            self.started = True
        joined = np.concatenate([self.buffer, frames])
        self.buffer = joined[len(frames):]
        return joined[:len(frames)]


class IdentityConverter:
    """Changes nothing; has the lookahead of the model it stands in for."""

    def __init__(self, n_mcep: int, n_bap: int, lookahead_frames: int = 0) -> None:
        self.n_mcep, self.n_bap, self.lookahead_frames = n_mcep, n_bap, lookahead_frames

    def set_condition(self, condition: FloatArray) -> None:
        pass

    def process(self, features: WorldFeatures, speaker: SpeakerLevels) -> FrameChanges:
        return FrameChanges.none(features.n_frames, self.n_mcep, self.n_bap)

    def reset(self) -> None:
        pass


class OnnxConverter:
    """The bundle's generator in ONNX Runtime, stepped with its convolution state."""

    def __init__(self, bundle: Bundle, threads: int = 1) -> None:
        self.bundle = bundle
        self.lookahead_frames = bundle.lookahead_frames
        self._session = open_session(bundle.model_path, threads)
        self._condition = np.zeros((1, len(bundle.emotions)), dtype=np.float32)
        self.reset()

    def set_condition(self, condition: FloatArray) -> None:
        self._condition = np.asarray(condition, dtype=np.float32).reshape(1, -1)

    def process(self, features: WorldFeatures, speaker: SpeakerLevels) -> FrameChanges:
        inputs = model_inputs(features.f0_hz, features.mcep, features.bap,
                              self.bundle.normalization, speaker)
        delta, self._state = self._session.run(None, {
            "features": inputs[None], "condition": self._condition, "state": self._state})
        return frame_changes(delta[0], self.bundle.normalization)

    def reset(self) -> None:
        self._state = np.zeros((1, self.bundle.state_size), dtype=np.float32)
