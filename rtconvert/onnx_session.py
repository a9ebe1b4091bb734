"""ONNX Runtime sessions as the runtime opens them: on the CPU, one thread unless asked."""

from __future__ import annotations

from pathlib import Path

import onnxruntime

from .errors import BundleError


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
