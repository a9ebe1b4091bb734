"""End-to-end latency through a JACK server: play into the converter's input port, record its output.

A JACK client of our own (JACK-Client) registers a playback and a capture port and
connects them to the ports PortAudio opened for the live stream. What it plays in
cycle ``n`` and hears back in cycle ``m`` gives the whole chain's delay in samples:
the engine's, the device block's, and the server's own buffering.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import soundfile

from .controls import Settings
from .errors import AudioDeviceError

if TYPE_CHECKING:
    from .bundle import Bundle
    from .live import LiveConfig

FloatArray = npt.NDArray[np.float64]


def click_train(rate: int, seconds: float, every_s: float = 0.25) -> FloatArray:
    """Short band-limited clicks (a 1 ms Hann-windowed chirp) every ``every_s`` seconds."""
    signal = np.zeros(int(seconds * rate))
    length = rate // 1000
    t = np.arange(length) / rate
    click = 0.5 * np.hanning(length) * np.sin(2 * np.pi * (2000 + 4e6 * t) * t)
    for start in range(rate // 10, len(signal) - length, int(every_s * rate)):
        signal[start:start + length] = click
    return signal


def delay_of(played: FloatArray, recorded: FloatArray, max_delay: int) -> int:
    """Lag in samples at which ``recorded`` best matches ``played`` (FFT cross-correlation)."""
    n = len(played) + len(recorded)
    size = 1 << int(np.ceil(np.log2(n)))
    correlation = np.fft.irfft(np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(played, size)),
                               size)
    return int(np.argmax(np.abs(correlation[:max_delay])))


class JackLoopback:
    """Plays a signal into JACK input ports and records output ports, sample-synchronously.

    Parameters
    ----------
    name : str
        The JACK client name.
    """

    def __init__(self, name: str = "rtconvert-loopback") -> None:
        try:
            import jack
        except (ImportError, OSError) as exc:
            raise AudioDeviceError(f"the loopback needs JACK-Client and libjack ({exc})") from exc
        try:
            self.client = jack.Client(name, no_start_server=True)
        except jack.JackError as exc:
            raise AudioDeviceError("no JACK server is running; start one, e.g. "
                                   "`jackd -d dummy -r 48000 -p 256`") from exc
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
        self._signal = np.concatenate([signal, np.zeros(int(tail_s * self.rate))]).astype(np.float32)
        self._recording = np.zeros(len(self._signal), dtype=np.float32)
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


def measure_loopback(bundle: "Bundle", config: "LiveConfig", seconds: float) -> dict[str, Any]:
    """Open the live stream on JACK, play clicks through it from another client, time their way back.

    The clicks are played and recorded by ``python -m rtconvert.loopback`` in its own
    process, as OBS or a DAW would be. The stream runs in bypass, so the clicks come
    back as they went in and correlate exactly; bypass runs the whole conversion all
    the same (its output is cross-faded away), so load and timing are the converting
    ones, and its delay equals the converted path's by construction (tests/test_engine.py).
    """
    from .live import LiveStream

    live = LiveStream(bundle, config, Settings(emotion="angry", intensity=1.0, bypass=True,
                                               gate_db=-np.inf))
    live.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            played_path, recorded_path = Path(folder) / "clicks.wav", Path(folder) / "back.wav"
            clicks = click_train(live.rate, seconds)
            soundfile.write(played_path, clicks, live.rate, subtype="FLOAT")
            feeder = Feeder(played_path, recorded_path, *live.jack_ports())
            before = live.underruns + live.status.input_overflows
            report = feeder.play()
            underruns = live.underruns + live.status.input_overflows - before
            recorded, _ = soundfile.read(recorded_path, dtype="float64")
    finally:
        live.stop()
    delay = delay_of(clicks, recorded, live.rate // 2)
    algorithmic = live.engine.algorithmic_latency_s(config.block)
    portaudio_in, portaudio_out = live.server_latency_s
    return {
        "end_to_end_latency_ms": round(1000 * delay / live.rate, 3),
        "algorithmic_latency_ms": round(1000 * algorithmic, 3),
        "headroom_ms": round(1000 * (live.latency_s - algorithmic), 3),
        "server_buffering_ms": round(1000 * (delay / live.rate - live.latency_s), 3),
        "portaudio_reported_latency_ms": [round(1000 * portaudio_in, 3),
                                          round(1000 * portaudio_out, 3)],
        "jack_rate": report["rate"],
        "jack_period": report["period"],
        "block": config.block,
        "seconds": seconds,
        "underruns": underruns,
        "jack_xruns": report["xruns"],
    }


class Feeder:
    """The feeder client (``main`` below) in its own process, as OBS or a DAW would be.

    It connects, says so, and plays only when told to, so that the caller can count
    dropouts over exactly the playback (and not over a Python process starting up).
    """

    def __init__(self, play: Path, record: Path, input_port: str, output_port: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rtconvert.loopback", str(play), str(record), input_port,
             output_port], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        if self.process.stdout.readline().strip() != "connected":
            self._fail()

    def play(self) -> dict[str, Any]:
        """Play and record; returns the feeder's report (xruns, rate, period)."""
        out, _ = self.process.communicate("go\n")
        if self.process.returncode != 0:
            self._fail()
        return json.loads(out.strip().splitlines()[-1])

    def _fail(self) -> None:
        self.process.kill()
        _, error = self.process.communicate()
        raise AudioDeviceError(f"the JACK feeder failed: {error.strip().splitlines()[-1:]}")


def main(argv: list[str] | None = None) -> int:
    """``python -m rtconvert.loopback PLAY.wav RECORD.wav IN_PORT OUT_PORT``: a separate JACK
    client process that connects, prints "connected", waits for a line on stdin, then
    plays a file into one port while recording another, and prints its xrun count."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rtconvert.loopback", description=main.__doc__)
    parser.add_argument("play")
    parser.add_argument("record")
    parser.add_argument("input_port", help="the converter's input port, e.g. PortAudio:in_0")
    parser.add_argument("output_port", help="the converter's output port, e.g. PortAudio:out_0")
    parser.add_argument("--tail", type=float, default=0.5, help="seconds recorded after the end")
    args = parser.parse_args(argv)
    signal, rate = soundfile.read(args.play, dtype="float64")
    loop = JackLoopback("rtconvert-feeder")
    try:
        if rate != loop.rate:
            raise AudioDeviceError(f"{args.play} is at {rate} Hz, the JACK server at {loop.rate}")
        loop.connect(args.input_port, args.output_port)
        loop.load(signal, args.tail)
        time.sleep(0.3)
        print("connected", flush=True)
        sys.stdin.readline()  # "go"
        gc.freeze()  # no collector pass over what exists now inside JACK's cycle
        loop.xruns = 0
        recorded = loop.play_and_record()
        soundfile.write(args.record, recorded, loop.rate, subtype="FLOAT")
        print(json.dumps({"xruns": loop.xruns, "rate": loop.rate, "period": loop.period}))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
