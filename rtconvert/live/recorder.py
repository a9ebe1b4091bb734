"""Recording a live stream's input and output to WAV files, on a thread of its own."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

from ..errors import OutputError
from ..files import check_output, disk_full_error, publish, temporary_beside
from .ring import SampleRing

FloatArray = npt.NDArray[np.float64]

#: Seconds of audio the rings hold for the writer: far more than a disk write stalls.
BUFFER_S = 10.0
#: How often the writer looks for new audio.
POLL_S = 0.05


class WavRecorder:
    """Two 24-bit WAV files written from blocks that an audio callback hands over.

    ``push`` only copies them into two rings (safe from the callback: no lock, no
    allocation); a writer thread empties the rings to disk, and ``close`` waits for it to
    write what is left. The files are written under temporary names beside their
    destinations and get their names when the recording closes. If writing fails (a full
    disk), the writer stops, keeps what it wrote (a valid, shorter WAV under the final
    name) and ``close`` raises. Audio that finds the rings full (a disk stalled for
    ``BUFFER_S``) is counted in ``dropped``.

    Raises
    ------
    OutputError
        If a destination folder is missing or not writable.
    """

    def __init__(self, input_path: Path, output_path: Path, rate: int) -> None:
        self.paths = (check_output(input_path), check_output(output_path))
        self.rate = rate
        self.error: OutputError | None = None  # set by the writer when writing failed
        self.dropped = 0  # samples the full rings could not take (callback)
        capacity = round(BUFFER_S * rate)
        self._rings = (SampleRing(capacity, dtype=np.float32),
                       SampleRing(capacity, dtype=np.float32))
        self._closing = threading.Event()
        self._written = 0  # samples of each file written in this recording (writer)
        self._on_disk = 0  # ring position up to which the files hold everything (writer)
        self._progress = threading.Condition()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def push(self, block: npt.NDArray, converted: npt.NDArray) -> None:
        """Hand over an input block and its converted output (audio callback: copies only).

        Both go in, or neither (the two files stay aligned): a block that finds a ring
        full is counted in ``dropped``.
        """
        if self.error is not None:
            return
        free = min(ring.capacity - ring.available for ring in self._rings)
        if len(block) > free:
            self.dropped += len(block)
            return
        self._rings[0].write(block)
        self._rings[1].write(converted)

    def wait_written(self) -> None:
        """Wait until everything pushed so far is on disk (or writing failed)."""
        target = self._rings[0].written
        with self._progress:
            self._progress.wait_for(lambda: self._on_disk >= target
                                    or self.error is not None or not self._writer.is_alive())

    def close(self) -> None:
        """Finish the files and give them their names.

        Raises
        ------
        OutputError
            If writing failed part-way; the files then hold what was written before.
        """
        self._closing.set()  # the writer empties the rings once more, then stops
        self._writer.join()
        if self.error is not None:
            raise self.error

    def _write(self) -> None:
        partials = [temporary_beside(path) for path in self.paths]
        try:
            with soundfile.SoundFile(partials[0], "w", self.rate, 1, subtype="PCM_24",
                                     format="WAV") as dry, \
                    soundfile.SoundFile(partials[1], "w", self.rate, 1, subtype="PCM_24",
                                        format="WAV") as wet:
                while True:
                    closing = self._closing.wait(POLL_S)
                    self._write_available(dry, wet)
                    if closing or self.error is not None:
                        break
        except (soundfile.LibsndfileError, OSError) as exc:  # opening, or the header at close
            self._failed(exc, self._written)
        finally:
            for partial, path in zip(partials, self.paths):
                publish(partial, path)
            with self._progress:
                self._progress.notify_all()

    def _write_available(self, dry: soundfile.SoundFile, wet: soundfile.SoundFile) -> None:
        """Move what the callback has handed over so far to the files."""
        # In pieces of POLL_S: a full disk then keeps what fitted, to the piece.
        piece = max(1, round(POLL_S * self.rate))
        while self.error is None and (n := min(min(r.available for r in self._rings), piece)):
            blocks = [np.empty(n, dtype=np.float32) for _ in self._rings]
            for ring, block in zip(self._rings, blocks):
                ring.read_into(block)
            try:
                dry.write(blocks[0])
                wet.write(np.clip(blocks[1], -1, 1))
                self._written += n
            except (soundfile.LibsndfileError, OSError) as exc:
                self._failed(exc, self._written)
            with self._progress:
                self._on_disk = self._rings[0].read
                self._progress.notify_all()

    def _failed(self, exc: BaseException, written: int) -> None:
        kept = (f"recording stopped after {written / self.rate:.1f} s, which "
                f"{' and '.join(p.name for p in self.paths)} keep")
        self.error = disk_full_error(self.paths[0], exc, kept) or OutputError(
            f"{self.paths[0].parent}: cannot write the recording ({exc}); {kept}")
