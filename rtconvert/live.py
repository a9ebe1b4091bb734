"""Live audio: a PortAudio duplex stream through the engine, plus an optional monitor output.

The audio callback converts one block and copies it out; everything else (level
readouts, recording to disk, the monitor device, error reporting) reads what the
callback left behind, on other threads. The monitor is a second output stream on
its own device clock, fed through a short queue: when the clocks drift it drops or
repeats a block rather than ever making the main output wait.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
import sounddevice as sd
import soundfile

from .bundle import Bundle
from .controls import Settings
from .engine import Engine
from .errors import AudioDeviceError

FloatArray = npt.NDArray[np.float64]
Device = int | str | None

#: Monitor blocks queued at most; beyond, the oldest are dropped (clock drift).
MONITOR_QUEUE_BLOCKS = 8


def refresh_devices() -> None:
    """Re-scan audio devices (PortAudio only enumerates them when it starts)."""
    sd._terminate()
    sd._initialize()


def list_devices() -> str:
    """Host APIs and devices, as ``rtconvert devices`` prints them."""
    lines = []
    for index, api in enumerate(sd.query_hostapis()):
        lines.append(f"host API {index}: {api['name']}")
        for device_index in api["devices"]:
            device = sd.query_devices(device_index)
            lines.append(f"  [{device_index}] {device['name']}: {device['max_input_channels']} in, "
                         f"{device['max_output_channels']} out, "
                         f"default {device['default_samplerate']:.0f} Hz")
    return "\n".join(lines)


def find_device(name_or_index: Device, kind: str, host_api: str | None = None) -> int | None:
    """Resolve a device given by index or by (part of) its name; None means the default.

    Raises
    ------
    AudioDeviceError
        Naming the devices that would do when none matches.
    """
    channel_key = f"max_{kind}_channels"
    candidates = [(i, d) for i, d in enumerate(sd.query_devices()) if d[channel_key] > 0]
    if host_api is not None:
        apis = sd.query_hostapis()
        candidates = [(i, d) for i, d in candidates
                      if host_api.lower() in apis[d["hostapi"]]["name"].lower()]
    if name_or_index is None:
        if host_api is None:
            return None
        if candidates:
            return candidates[0][0]
    else:
        text = str(name_or_index)
        if text.isdigit() and any(i == int(text) for i, _ in candidates):
            return int(text)
        for i, device in candidates:
            if text.lower() in device["name"].lower():
                return i
    names = ", ".join(f"[{i}] {d['name']}" for i, d in candidates) or "none"
    raise AudioDeviceError(f"no {kind} device {name_or_index!r}"
                           f"{f' on {host_api}' if host_api else ''}; {kind} devices: {names}")


@dataclass(frozen=True)
class LiveConfig:
    """Which devices to open and how."""

    input_device: Device = None
    output_device: Device = None
    monitor_device: Device = None  # a second output, e.g. headphones next to a virtual cable
    host_api: str | None = None  # e.g. "JACK"; None: PortAudio's default devices
    block: int = 256
    rate: int | None = None  # None: the output device's default rate


@dataclass
class LiveStatus:
    """What the UI and the headless status line show; written by the audio thread."""

    input_db: float = -120.0
    output_db: float = -120.0
    input_overflows: int = 0
    output_underflows: int = 0
    callbacks: int = 0
    load: float = 0.0  # processing time per block / block duration, smoothed
    error: str | None = None


class LiveStream:
    """Microphone to speakers through an :class:`Engine`.

    Parameters
    ----------
    bundle : Bundle
        The model to convert with.
    config : LiveConfig
        Devices, block size and rate.
    settings : Settings
        Initial controls; later change them on :attr:`engine`.
    on_stop : callable, optional
        Called (from an audio thread) with an error message when the stream stops on
        its own, e.g. because a device vanished.
    """

    def __init__(self, bundle: Bundle, config: LiveConfig = LiveConfig(),
                 settings: Settings = Settings(),
                 on_stop: Callable[[str], None] | None = None) -> None:
        self.bundle, self.config, self.on_stop = bundle, config, on_stop
        self.status = LiveStatus()
        self._stream: sd.Stream | None = None
        self._monitor: sd.OutputStream | None = None
        self._monitor_queue: collections.deque[FloatArray] = collections.deque(
            maxlen=MONITOR_QUEUE_BLOCKS)
        self._recording: collections.deque[tuple[FloatArray, FloatArray]] | None = None
        self._recorder: threading.Thread | None = None
        self._stopping = False
        self.input_device, self.output_device, self.monitor_device = self._resolve()
        self.rate = self._negotiate_rate()
        self.engine = Engine(bundle, self.rate, settings)

    def _resolve(self) -> tuple[int | None, int | None, int | None]:
        c = self.config
        monitor = find_device(c.monitor_device, "output", c.host_api) \
            if c.monitor_device is not None else None
        return (find_device(c.input_device, "input", c.host_api),
                find_device(c.output_device, "output", c.host_api), monitor)

    def _negotiate_rate(self) -> int:
        """The configured rate, or the output device's default; checked on every device."""
        output = sd.query_devices(self.output_device, "output")
        rate = self.config.rate or int(output["default_samplerate"])
        checks = [("input", self.input_device, sd.check_input_settings),
                  ("output", self.output_device, sd.check_output_settings)]
        if self.monitor_device is not None:
            checks.append(("monitor", self.monitor_device, sd.check_output_settings))
        for role, device, check in checks:
            try:
                check(device=device, samplerate=rate, channels=1, dtype="float32")
            except sd.PortAudioError as exc:
                info = sd.query_devices(device, "input" if role == "input" else "output")
                raise AudioDeviceError(
                    f"the {role} device {info['name']!r} cannot run at {rate} Hz ({exc}); "
                    f"pick {info['default_samplerate']:.0f} Hz, its default") from exc
        return rate

    # -- running -------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._stream is not None and self._stream.active

    def start(self) -> None:
        """Open the devices and start converting; raises AudioDeviceError on a bad combination."""
        self._warm_up()
        self.status = LiveStatus()
        self._stopping = False
        try:
            self._stream = sd.Stream(device=(self.input_device, self.output_device),
                                     samplerate=self.rate, blocksize=self.config.block,
                                     channels=1, dtype="float32", latency="low",
                                     callback=self._callback, finished_callback=self._finished)
            if self.monitor_device is not None:
                self._monitor = sd.OutputStream(device=self.monitor_device, samplerate=self.rate,
                                                blocksize=self.config.block, channels=1,
                                                dtype="float32", callback=self._monitor_callback)
        except sd.PortAudioError as exc:
            self._close()
            raise AudioDeviceError(f"cannot open the audio devices: {exc}; check that input and "
                                   "output are on the same host API and not in use") from exc
        self._stream.start()
        if self._monitor is not None:
            self._monitor.start()

    def _warm_up(self) -> None:
        """Run the engine on silence once, so first-call costs (ONNX Runtime's buffers,
        FFT plans) are not paid inside the first audio callbacks."""
        for _ in range(8):
            self.engine.process(np.zeros(self.config.block))
        self.engine.reset()

    def stop(self) -> None:
        """Stop and close everything (also the recording); safe to call twice."""
        self._stopping = True
        self._close()
        self.stop_recording()

    def _close(self) -> None:
        for stream in (self._stream, self._monitor):
            if stream is not None:
                try:
                    stream.abort()
                    stream.close()
                except sd.PortAudioError:
                    pass  # the device is already gone
        self._stream = self._monitor = None

    @property
    def server_latency_s(self) -> tuple[float, float]:
        """PortAudio's input and output latency for the open stream (its own buffering)."""
        if self._stream is None:
            return (0.0, 0.0)
        return tuple(self._stream.latency)  # type: ignore[return-value]

    def _callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int,
                  timing: Any, status: sd.CallbackFlags) -> None:
        began = time.perf_counter()
        if status.input_overflow:
            self.status.input_overflows += 1
        if status.output_underflow:
            self.status.output_underflows += 1
        block = indata[:, 0].astype(np.float64)
        converted = self.engine.process(block)
        outdata[:, 0] = converted
        if self._monitor is not None:
            self._monitor_queue.append(converted)
        if self._recording is not None:
            self._recording.append((block, converted))
        status_ = self.status
        status_.input_db, status_.output_db = self.engine.input_db, self.engine.output_db
        status_.callbacks += 1
        load = (time.perf_counter() - began) * self.rate / frames
        status_.load = 0.9 * status_.load + 0.1 * load

    def _monitor_callback(self, outdata: np.ndarray, frames: int, timing: Any,
                          status: sd.CallbackFlags) -> None:
        out = outdata[:, 0]
        out[:] = 0.0
        filled = 0
        while filled < frames and self._monitor_queue:
            block = self._monitor_queue[0]
            take = min(frames - filled, len(block))
            out[filled:filled + take] = block[:take]
            filled += take
            if take == len(block):
                self._monitor_queue.popleft()
            else:
                self._monitor_queue[0] = block[take:]

    def _finished(self) -> None:
        if not self._stopping:
            self.status.error = "the audio stream stopped: a device was disconnected or failed"
            if self.on_stop is not None:
                self.on_stop(self.status.error)

    # -- recording -----------------------------------------------------------------------

    def start_recording(self, input_path: Path, output_path: Path) -> None:
        """Write what comes in and what goes out to two WAV files until stopped."""
        self.stop_recording()
        queue: collections.deque[tuple[FloatArray, FloatArray]] = collections.deque()
        self._recording = queue
        self._recorder = threading.Thread(target=self._write, daemon=True,
                                          args=(queue, input_path, output_path))
        self._recorder.start()

    def stop_recording(self) -> None:
        recorder, self._recording = self._recorder, None
        if recorder is not None:
            recorder.join()
        self._recorder = None

    def _write(self, queue: collections.deque, input_path: Path, output_path: Path) -> None:
        with soundfile.SoundFile(input_path, "w", self.rate, 1, "PCM_24") as dry, \
                soundfile.SoundFile(output_path, "w", self.rate, 1, "PCM_24") as wet:
            while self._recording is queue or queue:
                if not queue:
                    time.sleep(0.02)
                    continue
                block, converted = queue.popleft()
                dry.write(block)
                wet.write(np.clip(converted, -1, 1))

    def status_line(self) -> str:
        s = self.status
        latency = 1000 * self.engine.algorithmic_latency_s(self.config.block)
        return (f"in {s.input_db:6.1f} dB  out {s.output_db:6.1f} dB  latency {latency:.1f} ms  "
                f"load {100 * s.load:3.0f}%  underruns {s.output_underflows}  "
                f"overruns {s.input_overflows}")
