"""Live audio: a PortAudio duplex stream through the engine, plus an optional monitor output.

The audio callback only moves samples, as docs/design.md's callback contract allows: it
copies the input block into a ring for a worker thread and plays converted samples the
worker queued earlier. The engine's steps (20 or 10 ms) take a few ms of CPU each; run in
the callback, a step would overrun the device deadline whenever the machine hiccups. On the
worker it has at least the profile's ``headroom_s`` of slack: the output ring holds that
much converted audio in advance, rounded up to whole blocks (:func:`.headroom_samples`),
more while the worker comes late or nearly late (:class:`.AdaptiveHeadroom`), and the
reported latency includes it. The worker takes the real-time priority just below the
callback's (:func:`.run_just_below`). The recorder and the monitor device read copies the
callback leaves in their own rings, on their own threads; the monitor runs on its own
device clock and, when the clocks drift, drops a block rather than make the output wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sounddevice as sd

from ..bundle import Bundle
from ..engine.engine import Engine
from ..errors import AudioDeviceError, OutputError
from ..profiles import PROFILES
from ..settings import Settings
from .config import LiveConfig
from .devices import find_device, forget_dead_stream, negotiate_rate, portaudio
from .headroom import AdaptiveHeadroom, headroom_samples
from .jack import portaudio_ports
from .recorder import WavRecorder
from .replay import Replay
from .ring import SampleRing
from .rtthreads import enter_streaming, leave_streaming, realtime_priority, run_just_below
from .status import LiveStatus
from .virtualmic import VirtualMic

#: Monitor blocks queued at most; beyond, the oldest are dropped (clock drift).
MONITOR_QUEUE_BLOCKS = 8
#: Seconds each ring between the callback and the worker holds: far beyond any backlog.
RING_S = 2.0
_UNKNOWN = object()  # the callback's priority before its first call


class LiveStream:
    """Microphone to speakers through an :class:`Engine`.

    Parameters
    ----------
    bundle : Bundle
        The model to convert with.
    config : LiveConfig
        Devices, block size and rate.
    settings : Settings
        Initial controls (default: :class:`Settings`'s); later change them on :attr:`engine`.
    on_stop : callable, optional
        Called (from an audio thread) with an error message when the stream stops on
        its own, e.g. because a device vanished.
    """

    def __init__(self, bundle: Bundle, config: LiveConfig = LiveConfig(),
                 settings: Settings | None = None,
                 on_stop: Callable[[str], None] | None = None) -> None:
        self.bundle, self.config, self.on_stop = bundle, config, on_stop
        self.status = LiveStatus()
        self._stream: sd.Stream | None = None
        self._monitor: sd.OutputStream | None = None
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._recorder: WavRecorder | None = None
        self.virtual_mic: VirtualMic | None = None
        self.recording_error: str | None = None  # why the last recording ended early
        self._stopping = False
        self._device_lost = False  # its stream cannot be aborted (PortAudio would hang)
        self._callback_priority: int | None | object = _UNKNOWN  # the worker follows it
        self.input_device, self.output_device, self.monitor_device = self._resolve()
        self.rate = negotiate_rate(config.rate, self.input_device, self.output_device,
                                   self.monitor_device)
        self.engine = Engine(bundle, self.rate, settings or Settings(),
                             profile=PROFILES[config.latency] if config.latency else None,
                             denoise=config.denoise)
        fixed = config.fixed_headroom_s
        base = headroom_samples(config.block, self.rate,
                                self.engine.profile.headroom_s if fixed is None else fixed)
        self._max_headroom_s = config.max_headroom_s if fixed is None else 0.0  # 0: no growth
        self.headroom = AdaptiveHeadroom(base, config.block, self.rate, self._max_headroom_s)
        # Output position of the first input sample: the headroom, then the engine's delay.
        self._first_audio_sample = base + round(self.engine.delay_s * self.rate)
        self.prepare_buffers()

    @property
    def latency_s(self) -> float:
        """Input to output through the stream now, beyond the audio server's own buffering."""
        return self.engine.algorithmic_latency_s(self.config.block) + self.headroom_s

    @property
    def headroom_s(self) -> float:
        """Converted audio queued ahead of the device now (it follows the load)."""
        return self.headroom.samples / self.rate

    def _resolve(self) -> tuple[int | None, int | None, int | None]:
        c = self.config
        monitor = find_device(c.monitor_device, "output", c.host_api) \
            if c.monitor_device is not None else None
        return (find_device(c.input_device, "input", c.host_api),
                find_device(c.output_device, "output", c.host_api), monitor)

    # -- running -------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._stream is not None and self._stream.active

    def start(self) -> None:
        """Open the devices (and the virtual microphone) and start converting; raises
        AudioDeviceError on a bad combination or where no virtual microphone can be made."""
        self.engine.warm_up()
        self._stopping = self._device_lost = False
        self._callback_priority = _UNKNOWN
        self.prepare_buffers()
        if self.config.virtual_mic:
            self.virtual_mic = VirtualMic(self.rate, on_error=self._failed)
        self._worker = threading.Thread(target=self._work, name="rtconvert-engine", daemon=True)
        self._worker.start()
        enter_streaming()
        try:
            with portaudio("cannot open the audio devices", "check that input and output are "
                           "on the same host API and not in use"):
                self._stream = sd.Stream(device=(self.input_device, self.output_device),
                                         samplerate=self.rate, blocksize=self.config.block,
                                         channels=1, dtype="float32", latency="low",
                                         callback=self._callback,
                                         finished_callback=self._finished)
                if self.monitor_device is not None:
                    self._monitor = sd.OutputStream(
                        device=self.monitor_device, samplerate=self.rate,
                        blocksize=self.config.block, channels=1, dtype="float32",
                        callback=self._monitor_callback)
                self._stream.start()
                if self._monitor is not None:
                    self._monitor.start()
        except BaseException:
            self.stop()  # also ends the worker and removes the virtual microphone
            raise

    def prepare_buffers(self) -> None:
        """Fresh headroom, status, rings and replay: everything the callback touches, allocated
        before it runs (:meth:`start` calls it)."""
        self.headroom = AdaptiveHeadroom(self.headroom.base, self.config.block, self.rate,
                                         self._max_headroom_s)
        self.status = LiveStatus(headroom_ms=1000 * self.headroom_s,
                                 headroom_fixed=self.config.fixed_headroom_s is not None)
        capacity = round(RING_S * self.rate) + self.headroom.limit
        self._input = SampleRing(capacity)
        self._output = SampleRing(capacity, prefill=self.headroom.base)
        self._monitor_ring = SampleRing(capacity)
        self.replay = Replay(self.rate)

    @property
    def underruns(self) -> int:
        """Gaps in the output: the device's own underflows and blocks converted too late."""
        return self.status.underruns

    def stop(self) -> None:
        """Stop and close everything (also the recording); safe to call twice."""
        self._stopping = True
        self._close()
        worker, self._worker = self._worker, None
        if worker is not None:
            self._wake.set()
            worker.join()
            leave_streaming()
        try:
            self.stop_recording()
        except OutputError as exc:  # stopping always completes; the caller shows this
            self.recording_error = str(exc)
        finally:
            mic, self.virtual_mic = self.virtual_mic, None
            if mic is not None:
                mic.close()

    def _close(self) -> None:
        for stream in (self._stream, self._monitor):
            # A stream whose device died cannot be aborted (PortAudio waits on it for
            # ever); it is dropped instead, and a new one can be opened.
            if stream is not None and not self._device_lost:
                try:
                    stream.abort()
                    stream.close()
                except sd.PortAudioError:
                    pass  # the device is already gone
        self._stream = self._monitor = None

    def jack_ports(self) -> tuple[str, str]:
        """The JACK ports PortAudio registered for this stream: (input, output)."""
        return portaudio_ports()

    @property
    def server_latency_s(self) -> tuple[float, float]:
        """PortAudio's input and output latency for the open stream (its own buffering)."""
        if self._stream is None:
            return (0.0, 0.0)
        return tuple(self._stream.latency)  # type: ignore[return-value]

    def _callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int,
                  timing: Any, status: sd.CallbackFlags) -> None:
        if self._callback_priority is _UNKNOWN:
            self._callback_priority = realtime_priority()  # once, for the worker to follow
        if status.input_overflow:
            self.status.input_overflows += 1
        if status.output_underflow:
            self.status.output_underflows += 1
        dry, wet = indata[:, 0], outdata[:, 0]
        self.headroom.arrived()
        if self._input.write(dry):  # the worker has not taken anything for RING_S
            self.status.input_overflows += 1
        self._wake.set()
        missing = self._output.read_into(wet)
        if missing:
            self.status.late_blocks += 1
            self.headroom.missed(missing)
        if self._monitor is not None:
            self._monitor_ring.write(wet)
        mic = self.virtual_mic
        if mic is not None:
            mic.push(wet)
        self.replay.record(dry, wet)
        recorder = self._recorder
        if recorder is not None:
            recorder.push(dry, wet)
        if self.status.first_audio_at is None and \
                (self.status.callbacks + 1) * frames > self._first_audio_sample:
            self.status.first_audio_at = time.monotonic()
        self.status.callbacks += 1

    def _work(self) -> None:
        """The worker thread: convert whatever input has arrived, queue it for the callback."""
        following, finished = False, 0.0
        while not self._stopping:
            self._wake.wait(0.1)
            self._wake.clear()
            if not following and self._callback_priority is not _UNKNOWN:
                run_just_below(self._callback_priority)
                following = True
                mic = self.virtual_mic
                if mic is not None and self._callback_priority is not None:
                    mic.run_below(self._callback_priority - 2)  # below this worker
            stream = self._stream
            if stream is not None and not stream.active and not self._stopping:
                self._finished()  # PortAudio does not always say when a server goes away
                return
            if not self._input.available:
                continue
            block = self._input.read_all()
            # Ready since its block came, or since the last conversion ended if that was later.
            ready = max(self.headroom.pending_since(), finished)
            began, cpu = time.perf_counter(), time.thread_time()
            self._output.write(self.headroom.adjust(self.engine.process(block)))
            finished = time.perf_counter()
            self.status.meter(self.engine, finished - began, len(block) / self.rate)
            self.status.waited(finished - ready - (time.thread_time() - cpu))
            self.status.headroom_ms = 1000 * self.headroom_s

    def _monitor_callback(self, outdata: np.ndarray, frames: int, timing: Any,
                          status: sd.CallbackFlags) -> None:
        out = outdata[:, 0]
        self._monitor_ring.read_into(out)
        self.replay.play(out)
        # Clock drift: a monitor slower than the main device would queue without end.
        self._monitor_ring.skip_beyond(MONITOR_QUEUE_BLOCKS * frames)

    def _finished(self) -> None:
        if not self._stopping and not self._device_lost:
            self._device_lost = True  # even after another part failed first: never abort it
            forget_dead_stream()
            self._failed("the audio stream stopped: a device was disconnected or failed")

    def _failed(self, error: str) -> None:
        """A part stopped on its own: say so once (the status line, ``on_stop``)."""
        if not self._stopping and self.status.error is None:
            self.status.error = error
            if self.on_stop is not None:
                self.on_stop(error)

    def hear_it(self) -> float:
        """Play the last seconds converted, then unconverted, on the monitor; returns seconds."""
        if self._monitor is None:
            raise AudioDeviceError("'hear it' plays on the monitor device: pick your headphones "
                                   "as the monitor and start again")
        return self.replay.start()

    # -- recording -----------------------------------------------------------------------

    def start_recording(self, input_path: Path, output_path: Path) -> None:
        """Write what comes in and what goes out to two WAV files until stopped (they get their
        names then: :class:`.WavRecorder`); OutputError if a folder is missing or read-only."""
        self.stop_recording()
        self._recorder = WavRecorder(input_path, output_path, self.rate)

    def stop_recording(self) -> None:
        """Finish the recording; raises OutputError if it stopped early (a full disk)."""
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()

    def status_line(self) -> str:
        """One line: levels, latency, load, dropouts and the limiter."""
        return self.status.line(self.latency_s)
