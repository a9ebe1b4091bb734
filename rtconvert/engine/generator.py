"""Frame converters: the ONNX Runtime generator and the identity, behind one small interface.

A converter consumes WORLD frames as they arrive and returns the changes of as many
frames, ``lookahead_frames`` late: the generator needs that much future. The identity
converter declares the same lookahead, so bypass, intensity 0 and the model stay
time-aligned.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt
import onnxruntime

from ..bundle import Bundle
from ..dsp.features import WorldFeatures
from ..modelio import FrameChanges, Layout, SpeakerLevels, frame_changes, model_inputs
from ..onnx_session import open_session

FloatArray = npt.NDArray[np.float64]


class Converter(Protocol):
    """Streams WORLD frames through the generator: changes for each, ``lookahead_frames`` late."""

    lookahead_frames: int

    def set_condition(self, condition: FloatArray) -> None:
        """Intensity per emotion, shape (n_emotions,); used from the next ``process``."""

    def process(self, features: WorldFeatures, speaker: SpeakerLevels) -> FrameChanges:
        """Take new frames, return the changes of as many frames, ``lookahead_frames`` older."""

    def reset(self) -> None:
        """Forget the stream: start again from silence."""


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
    """The bundle's generator in ONNX Runtime, stepped with its convolution state.

    Its inputs, outputs and state live in arrays allocated once and bound to the session
    (ONNX Runtime's IO binding), so a step allocates nothing for the graph and the state
    is copied, not reallocated: measured in the engine at 10 ms steps, the model stage
    took 233 instead of 254 us per step.
    """

    def __init__(self, bundle: Bundle, threads: int = 1) -> None:
        self.bundle = bundle
        self.lookahead_frames = bundle.lookahead_frames
        self._session = open_session(bundle.model_path, threads)
        self._condition = np.zeros((1, len(bundle.emotions)), dtype=np.float32)
        self._state = np.zeros((1, bundle.state_size), dtype=np.float32)
        self._next_state = np.zeros_like(self._state)
        self._bindings: dict[int, _Binding] = {}  # by frames per call
        self.reset()

    def set_condition(self, condition: FloatArray) -> None:
        self._condition[0] = condition

    def process(self, features: WorldFeatures, speaker: SpeakerLevels) -> FrameChanges:
        binding = self._bindings.get(features.n_frames)
        if binding is None:
            binding = self._bindings[features.n_frames] = _Binding(
                self._session, features.n_frames, self.bundle.layout,
                {"condition": self._condition, "state": self._state},
                {"next_state": self._next_state})
        model_inputs(features.lf0, features.mcep, features.bap, self.bundle.normalization,
                     speaker, out=binding.features[0])
        binding.run()
        np.copyto(self._state, self._next_state)
        return frame_changes(binding.delta[0], self.bundle.normalization)

    def reset(self) -> None:
        self._state[:] = 0.0


class _Binding:
    """A session's inputs and outputs bound to fixed arrays for calls of ``n_frames`` frames."""

    def __init__(self, session: onnxruntime.InferenceSession, n_frames: int, layout: Layout,
                 inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> None:
        self.features = np.zeros((1, layout.n_inputs, n_frames), dtype=np.float32)
        self.delta = np.zeros((1, layout.n_outputs, n_frames), dtype=np.float32)
        self._session = session
        self._binding = session.io_binding()
        for name, array in {"features": self.features, **inputs}.items():
            self._binding.bind_input(name, "cpu", 0, np.float32, list(array.shape),
                                     array.ctypes.data)
        for name, array in {"delta": self.delta, **outputs}.items():
            self._binding.bind_output(name, "cpu", 0, np.float32, list(array.shape),
                                      array.ctypes.data)
        # The public run_with_iobinding checks for WebGPU graph capture on every call, 20 us
        # in Python (more than the binding saves); the binding's own run does the work.
        native = getattr(session, "_sess", None), getattr(self._binding, "_iobinding", None)
        if None in native or not hasattr(native[0], "run_with_iobinding"):
            self.run = lambda: session.run_with_iobinding(self._binding)
        else:
            self.run = lambda: native[0].run_with_iobinding(native[1], None)
