"""A JACK client process that plays a file into one port and records another, as OBS or a DAW would.

Measurements and tests feed the live stream through it from a process of their own, so
that what the feeding costs (a Python interpreter, its real-time callback) does not share
the converter's interpreter. :class:`Feeder` starts and drives it.
"""

from __future__ import annotations

import gc
import json
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile

from ..errors import AudioDeviceError
from ..live.jack import open_client

FloatArray = npt.NDArray[np.float64]


class JackLoopback:
    """Plays a signal into JACK input ports and records output ports, sample-synchronously.

    Parameters
    ----------
    name : str
        The JACK client name.
    """

    def __init__(self, name: str = "rtconvert-loopback") -> None:
        self.client = open_client(name)
        self.rate = self.client.samplerate
        self.period = self.client.blocksize
        self._play_port = self.client.outports.register("play")
        self._capture_port = self.client.inports.register("capture")
        self._signal = np.zeros(0, dtype=np.float32)
        self._position = 0
        self._recording = np.zeros(0, dtype=np.float32)
        self._done = threading.Event()
        self._length = 0
        self.xruns = 0
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def _xrun(self, delay: float) -> None:
        self.xruns += 1

    def _process(self, frames: int) -> None:
        # Runs in JACK's real-time thread: copies into preallocated arrays, nothing grows.
        position, length = self._position, self._length
        out = self._play_port.get_array()
        take = max(0, min(frames, length - position))  # 0 while idle or done
        out[:take] = self._signal[position:position + take]
        out[take:] = 0.0
        if take:
            self._recording[position:position + take] = self._capture_port.get_array()[:take]
            self._position = position + take
            if self._position >= length:
                self._done.set()

    def connect(self, converter_input: str, converter_output: str) -> None:
        """Route our playback into ``converter_input`` and ``converter_output`` into our capture."""
        self.client.connect(self._play_port, converter_input)
        self.client.connect(converter_output, self._capture_port)

    def load(self, signal: FloatArray, tail_s: float = 0.5) -> None:
        """Prepare to play ``signal`` and record as long plus a tail.

        Apart from :meth:`play_and_record`: allocating seconds of audio holds the
        interpreter for milliseconds, which the process callback must not wait for.
        """
        self._length = 0  # the process callback idles until play_and_record sets it
        tail = np.zeros(int(tail_s * self.rate))
        self._signal = np.concatenate([signal, tail]).astype(np.float32)
        # Written through now: numpy asks for huge pages for arrays this large, and the
        # kernel may compact memory to fault one in, inside JACK's cycle if left for it.
        self._recording = np.empty(len(self._signal), dtype=np.float32)
        self._recording.fill(0.0)
        self._position = 0
        self._done.clear()

    def play_and_record(self) -> FloatArray:
        """Play what :meth:`load` prepared; returns what came back from the same first sample.

        The client leaves the graph when done: whatever this process does next (writing
        files, collecting garbage) cannot then make JACK's cycle late.
        """
        self._length = len(self._signal)
        finished = self._done.wait(timeout=3 * self._length / self.rate + 5)
        self.client.deactivate()
        if not finished:
            raise AudioDeviceError("the JACK server stopped running our client")
        return self._recording.astype(np.float64)

    def close(self) -> None:
        self.client.deactivate()  # a no-op when already inactive
        self.client.close()


class Feeder:
    """The feeder client (``main`` below) in its own process, as OBS or a DAW would be.

    It starts and loads its signal at once, connects when given the ports, and plays
    only when told to; it says "played" the moment the signal is through, so that the
    caller counts dropouts over exactly the playback (not over a Python process
    starting up, or writing its recording afterwards).
    """

    def __init__(self, play: Path, record: Path, input_port: str | None = None,
                 output_port: str | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rtconvert.bench.feeder", str(play), str(record)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._expect("ready")
        if input_port is not None and output_port is not None:
            self.connect(input_port, output_port)

    def connect(self, input_port: str, output_port: str) -> None:
        """Play into ``input_port`` (the converter's) and record ``output_port``."""
        self._say(f"{input_port}\t{output_port}")
        self._expect("connected")

    def start(self) -> None:
        """Start playing and recording; :meth:`finish` waits for the end."""
        self._say("go")

    def wait_played(self, timeout: float | None = None) -> bool:
        """Whether the whole signal has been played (the feeder then writes its file), waiting
        at most ``timeout`` seconds for it (None: as long as it takes)."""
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return False
        self._expect("played")
        return True

    def finish(self) -> dict[str, Any]:
        """Wait until the feeder is done; returns its report (xruns, rate, period)."""
        out, _ = self.process.communicate()
        if self.process.returncode != 0:
            self._fail()
        return json.loads(out.strip().splitlines()[-1])

    def play(self) -> dict[str, Any]:
        """Play and record; returns the feeder's report (xruns, rate, period)."""
        self.start()
        return self.finish()

    def close(self) -> None:
        """Stop the feeder process if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()

    def _say(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _expect(self, word: str) -> None:
        if self.process.stdout.readline().strip() != word:
            self._fail()

    def _fail(self) -> None:
        self.process.kill()
        _, error = self.process.communicate()
        raise AudioDeviceError(f"the JACK feeder failed: {error.strip().splitlines()[-1:]}")


def main(argv: list[str] | None = None) -> int:
    """``python -m rtconvert.bench.feeder PLAY.wav RECORD.wav``: a JACK client process that loads
    a file and says "ready", connects to the two ports named on its next line (tab between)
    and says "connected", plays the file into the first port while recording the second
    once it reads "go", says "played", and prints its xrun count when its file is written."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rtconvert.bench.feeder",
                                     description=main.__doc__)
    parser.add_argument("play")
    parser.add_argument("record")
    parser.add_argument("--tail", type=float, default=0.5, help="seconds recorded after the end")
    args = parser.parse_args(argv)
    signal, rate = soundfile.read(args.play, dtype="float64")
    loop = JackLoopback("rtconvert-feeder")
    try:
        if rate != loop.rate:
            raise AudioDeviceError(f"{args.play} is at {rate} Hz, the JACK server at {loop.rate}")
        loop.load(signal, args.tail)
        print("ready", flush=True)
        converter_input, converter_output = sys.stdin.readline().rstrip("\n").split("\t")
        loop.connect(converter_input, converter_output)
        time.sleep(0.3)
        print("connected", flush=True)
        sys.stdin.readline()  # "go"
        gc.collect()
        gc.disable()  # no collector pass inside JACK's cycle while playing
        loop.xruns = 0
        recorded = loop.play_and_record()
        print("played", flush=True)
        gc.enable()
        soundfile.write(args.record, recorded, loop.rate, subtype="FLOAT")
        print(json.dumps({"xruns": loop.xruns, "rate": loop.rate, "period": loop.period}))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
