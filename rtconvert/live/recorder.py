"""Recording a live stream's input and output to WAV files, on a thread of its own."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

from ..errors import OutputError
from ..files import check_output, disk_full_error, publish, temporary_beside

FloatArray = npt.NDArray[np.float64]


class WavRecorder:
    """Two 24-bit WAV files written from blocks that an audio callback hands over.

    ``push`` only puts them on a queue (safe from the callback); a writer thread does
    the disk I/O, and ``close`` waits for it to write what is left. The files are
    written under temporary names beside their destinations and get their names when
    the recording closes. If writing fails (a full disk), the writer stops, keeps what
    it wrote (a valid, shorter WAV under the final name) and ``close`` raises.

    Raises
    ------
    OutputError
        If a destination folder is missing or not writable.
    """

    def __init__(self, input_path: Path, output_path: Path, rate: int) -> None:
        self.paths = (check_output(input_path), check_output(output_path))
        self.rate = rate
        self.error: OutputError | None = None  # set by the writer when writing failed
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def push(self, block: FloatArray, converted: FloatArray) -> None:
        """Hand over an input block and its converted output (safe from the audio callback)."""
        if self.error is None:
            self._queue.put((block, converted))

    def wait_written(self) -> None:
        """Wait until everything pushed so far is on disk (or writing failed)."""
        written = threading.Event()
        self._queue.put(written)
        written.wait()

    def close(self) -> None:
        """Finish the files and give them their names.

        Raises
        ------
        OutputError
            If writing failed part-way; the files then hold what was written before.
        """
        self._queue.put(None)  # after everything pushed so far
        self._writer.join()
        if self.error is not None:
            raise self.error

    def _write(self) -> None:
        partials = [temporary_beside(path) for path in self.paths]
        written, closing = 0, False
        try:
            with soundfile.SoundFile(partials[0], "w", self.rate, 1, subtype="PCM_24",
                                     format="WAV") as dry, \
                    soundfile.SoundFile(partials[1], "w", self.rate, 1, subtype="PCM_24",
                                        format="WAV") as wet:
                while (item := self._queue.get()) is not None:
                    if isinstance(item, threading.Event):
                        item.set()
                    elif self.error is None:
                        block, converted = item
                        try:
                            dry.write(block)
                            wet.write(np.clip(converted, -1, 1))
                            written += len(block)
                        except (soundfile.LibsndfileError, OSError) as exc:
                            self._failed(exc, written)
                closing = True
        except (soundfile.LibsndfileError, OSError) as exc:  # opening, or the header at close
            self._failed(exc, written)
            if not closing:
                self._drain()
        finally:
            for partial, path in zip(partials, self.paths):
                publish(partial, path)

    def _drain(self) -> None:
        """After a failure to open the files: answer waiters until ``close``."""
        while (item := self._queue.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()

    def _failed(self, exc: BaseException, written: int) -> None:
        kept = (f"recording stopped after {written / self.rate:.1f} s, which "
                f"{' and '.join(p.name for p in self.paths)} keep")
        self.error = disk_full_error(self.paths[0], exc, kept) or OutputError(
            f"{self.paths[0].parent}: cannot write the recording ({exc}); {kept}")
