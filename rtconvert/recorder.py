"""Recording a live stream's input and output to WAV files, on a thread of its own."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

FloatArray = npt.NDArray[np.float64]


class WavRecorder:
    """Two 24-bit WAV files written from blocks that an audio callback hands over.

    ``push`` only puts them on a queue (safe from the callback); a writer thread does
    the disk I/O, and ``close`` waits for it to write what is left.
    """

    def __init__(self, input_path: Path, output_path: Path, rate: int) -> None:
        self._queue: queue.SimpleQueue[tuple[FloatArray, FloatArray] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, daemon=True,
                                        args=(input_path, output_path, rate))
        self._writer.start()

    def push(self, block: FloatArray, converted: FloatArray) -> None:
        self._queue.put((block, converted))

    def close(self) -> None:
        self._queue.put(None)  # after everything pushed so far
        self._writer.join()

    def _write(self, input_path: Path, output_path: Path, rate: int) -> None:
        with soundfile.SoundFile(input_path, "w", rate, 1, "PCM_24") as dry, \
                soundfile.SoundFile(output_path, "w", rate, 1, "PCM_24") as wet:
            while (blocks := self._queue.get()) is not None:
                block, converted = blocks
                dry.write(block)
                wet.write(np.clip(converted, -1, 1))
