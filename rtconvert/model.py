"""Mel-cepstrum converters: the ONNX Runtime generator and the identity, behind one small interface.

A converter consumes frames as they arrive and returns as many, ``lookahead_frames``
late: the generator needs that much future. The identity converter has the same delay,
so bypass, intensity 0 and the model stay time-aligned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import onnxruntime

from .bundle import Bundle
from .errors import BundleError

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
    """Streams mel-cepstra through a conversion, ``lookahead_frames`` late."""

    lookahead_frames: int

    def set_condition(self, condition: FloatArray) -> None:
        """Signed intensity per emotion, shape (n_emotions,); used from the next ``process``."""

    def process(self, mcep: FloatArray) -> FloatArray:
        """Take (n_frames, n_mcep) new frames, return the (n_frames, n_mcep) frames now due."""

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
    """Returns its input, delayed like the model it stands in for."""

    def __init__(self, n_mcep: int, lookahead_frames: int = 0) -> None:
        self.lookahead_frames = lookahead_frames
        self._delay = FrameDelay(lookahead_frames, n_mcep)

    def set_condition(self, condition: FloatArray) -> None:
        pass

    def process(self, mcep: FloatArray) -> FloatArray:
        return self._delay.push(mcep)

    def reset(self) -> None:
        self._delay.reset()


class OnnxConverter:
    """The bundle's generator in ONNX Runtime, stepped with its convolution state."""

    def __init__(self, bundle: Bundle, threads: int = 1) -> None:
        self.bundle = bundle
        self.lookahead_frames = bundle.lookahead_frames
        self._session = open_session(bundle.model_path, threads)
        self._first = bundle.first_coefficient
        self._mean = bundle.mcep_mean[self._first:]
        self._std = bundle.mcep_std[self._first:]
        self._delay = FrameDelay(self.lookahead_frames, bundle.features.n_mcep)
        self._condition = np.zeros((1, len(bundle.emotions)), dtype=np.float32)
        self.reset()

    def set_condition(self, condition: FloatArray) -> None:
        self._condition = np.asarray(condition, dtype=np.float32).reshape(1, -1)

    def process(self, mcep: FloatArray) -> FloatArray:
        normalised = ((mcep[:, self._first:] - self._mean) / self._std).T[None]
        delta, self._state = self._session.run(None, {
            "mcep": normalised.astype(np.float32), "condition": self._condition,
            "state": self._state})
        output = self._delay.push(mcep).copy()
        output[:, self._first:] += delta[0].T.astype(np.float64) * self._std
        return output

    def reset(self) -> None:
        self._state = np.zeros((1, self.bundle.state_size), dtype=np.float32)
        self._delay.reset()


def convert_utterance(converter: Converter, mcep: FloatArray) -> FloatArray:
    """Whole-utterance conversion: the lookahead is fed repeats of the last frame.

    Returns frames aligned with ``mcep``, shape (n_frames, n_mcep).
    """
    tail = np.repeat(mcep[-1:], converter.lookahead_frames, axis=0)
    return converter.process(np.concatenate([mcep, tail]))[converter.lookahead_frames:]
