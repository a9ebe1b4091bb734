"""Live audio: a PortAudio duplex stream through the engine, plus an optional monitor output.

The audio callback only moves samples: it queues the input block for a worker thread
and plays converted samples the worker queued earlier. The engine works in 20 ms
steps that take a few ms of CPU each; run inside the callback, one such step per
four 5 ms blocks would overrun the device deadline whenever the machine hiccups. On
the worker it has at least ``HEADROOM_S`` of slack instead: the output queue holds that
much converted audio in advance, rounded up to whole blocks (see :func:`headroom_samples`),
and the reported latency includes it. The worker takes the real-time priority just
below the callback's (:func:`run_just_below`). Recording to disk and the monitor
device read what the callback left behind, on their own threads. The monitor is a
second output stream on its own device clock, fed through a short queue: when the
clocks drift it drops a block rather than ever making the main output wait.
"""

from __future__ import annotations

import gc
import math
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt
import sounddevice as sd

from .bundle import Bundle
from .controls import Settings
from .engine import Engine
from .errors import AudioDeviceError, OutputError
from .devices import Device, find_device, forget_dead_stream, negotiate_rate
from .profiles import BALANCED, PROFILES
from .recorder import WavRecorder
from .replay import Replay
from .samplequeue import SampleQueue

FloatArray = npt.NDArray[np.float64]

#: Monitor blocks queued at most; beyond, the oldest are dropped (clock drift).
MONITOR_QUEUE_BLOCKS = 8
#: The least time the worker has to convert a block before the device plays it: the
#: worst step time measured by ``rtconvert bench`` (p99 2-5 ms) plus scheduling slack (on
#: JACK here the worker took up to 7 ms while JACK's threads and a feeder shared 2 cores).
#: The balanced profile's; each latency profile sets its own (``LatencyProfile.headroom_s``).
HEADROOM_S = BALANCED.headroom_s
#: While streaming, how long a Python thread may hold the interpreter before another
#: (the audio callback) gets it: the default 5 ms is a whole audio block.
SWITCH_INTERVAL_S = 0.0005
DEFAULT_SWITCH_INTERVAL_S = sys.getswitchinterval()
#: How fast the shown gain reduction of the limiter returns to 0 dB (dB/s), like a meter's
#: fall: a reduction stays visible for a moment after the peak that caused it.
LIMITER_FALL_DB_S = 10.0
_UNKNOWN = object()  # the callback's priority before its first call


def headroom_samples(block: int, rate: int, headroom_s: float = HEADROOM_S) -> int:
    """Converted samples queued ahead of the device so the worker has ``headroom_s`` per block.

    The callback pops whole blocks: with ``n`` blocks queued, block k's conversion is
    first needed by callback k + n, ``n`` block periods later. A queue of 1.9 blocks
    would leave a single period, so the headroom is rounded up to whole blocks, and is
    never less than one (the worker can only start after the callback handed it the block).
    """
    return block * max(1, math.ceil(headroom_s * rate / block - 1e-9))


def realtime_priority() -> int | None:
    """The calling thread's real-time (FIFO or round-robin) priority; None if it has none."""
    try:
        if os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR):
            return os.sched_getparam(0).sched_priority
    except (AttributeError, OSError):  # not Linux
        pass
    return None


def run_just_below(priority: int | None) -> None:
    """Real-time scheduling for the calling thread one step below ``priority``, where allowed.

    The audio callback waits for the interpreter lock while the worker holds it, so a
    worker preempted by ordinary processes would make the callback late; a worker above
    the callback (or a real-time worker beside an ordinary callback) would starve it. JACK
    runs its clients at its own priority minus 5 (5 with jackd's default of 10, 65 with
    ``-P 70``); other host APIs may not run the callback in real time at all.
    """
    if priority is None or priority <= 1:
        return
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority - 1))
    except (AttributeError, OSError):  # not Linux, or not permitted: ordinary scheduling
        pass


@dataclass(frozen=True)
class LiveConfig:
    """Which devices to open and how."""

    input_device: Device = None
    output_device: Device = None
    monitor_device: Device = None  # a second output, e.g. headphones next to a virtual cable
    host_api: str | None = None  # e.g. "JACK"; None: PortAudio's default devices
    block: int = 256
    rate: int | None = None  # None: the output device's default rate
    latency: str | None = None  # a latency profile's name; None: the bundle's own


@dataclass
class LiveStatus:
    """What the UI and the headless status line show; written by the audio thread."""

    input_db: float = -120.0
    output_db: float = -120.0
    input_overflows: int = 0
    output_underflows: int = 0  # reported by the device (PortAudio status flags)
    late_blocks: int = 0  # blocks the worker had not converted in time (played with gaps)
    callbacks: int = 0
    load: float = 0.0  # processing time per block / block duration, smoothed
    limiter_db: float = 0.0  # the limiter's gain reduction, held and released at LIMITER_FALL_DB_S
    limited_samples: int = 0  # samples the limiter's soft clipper bent since the start
    error: str | None = None
    # time.monotonic() when the microphone's first sample, converted, went to the device
    first_audio_at: float | None = None


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
        self._monitor_queue = SampleQueue()
        self.replay = Replay(1)  # replaced when the stream starts
        self._input, self._output = SampleQueue(), SampleQueue()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._recorder: WavRecorder | None = None
        self.recording_error: str | None = None  # why the last recording ended early
        self._stopping = False
        self._callback_priority: int | None | object = _UNKNOWN  # the worker follows it
        self.input_device, self.output_device, self.monitor_device = self._resolve()
        self.rate = negotiate_rate(config.rate, self.input_device, self.output_device,
                                   self.monitor_device)
        self.engine = Engine(bundle, self.rate, settings,
                             profile=PROFILES[config.latency] if config.latency else None)
        self.headroom = headroom_samples(config.block, self.rate, self.engine.profile.headroom_s)
        # Output position of the first input sample: the headroom, then the engine's delay.
        self._first_audio_sample = self.headroom + round(self.engine.delay_s * self.rate)

    @property
    def latency_s(self) -> float:
        """Input to output through the stream, beyond the audio server's own buffering."""
        return self.engine.algorithmic_latency_s(self.config.block) + self.headroom / self.rate

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
        """Open the devices and start converting; raises AudioDeviceError on a bad combination."""
        self.engine.warm_up()
        self.status = LiveStatus()
        self._stopping = False
        self._callback_priority = _UNKNOWN
        self._input, self._output = SampleQueue(), SampleQueue(self.headroom)
        self._monitor_queue = SampleQueue()
        self.replay = Replay(self.rate)
        self._worker = threading.Thread(target=self._work, name="rtconvert-engine", daemon=True)
        self._worker.start()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        gc.freeze()  # what exists now never needs scanning: shorter collector pauses
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
            self.stop()  # also ends the worker
            raise AudioDeviceError(f"cannot open the audio devices: {exc}; check that input and "
                                   "output are on the same host API and not in use") from exc
        self._stream.start()
        if self._monitor is not None:
            self._monitor.start()

    @property
    def underruns(self) -> int:
        """Gaps in the output: the device's own underflows and blocks converted too late."""
        return self.status.output_underflows + self.status.late_blocks

    def stop(self) -> None:
        """Stop and close everything (also the recording); safe to call twice."""
        self._stopping = True
        self._close()
        worker, self._worker = self._worker, None
        if worker is not None:
            self._wake.set()
            worker.join()
            gc.unfreeze()
            sys.setswitchinterval(DEFAULT_SWITCH_INTERVAL_S)
        try:
            self.stop_recording()
        except OutputError as exc:  # stopping always completes; the caller shows this
            self.recording_error = str(exc)

    def _close(self) -> None:
        for stream in (self._stream, self._monitor):
            # A stream whose device died cannot be aborted (PortAudio waits on it for
            # ever); it is dropped instead, and a new one can be opened.
            if stream is not None and self.status.error is None:
                try:
                    stream.abort()
                    stream.close()
                except sd.PortAudioError:
                    pass  # the device is already gone
        self._stream = self._monitor = None

    def jack_ports(self) -> tuple[str, str]:
        """The JACK ports PortAudio registered for this stream: (input, output)."""
        try:
            import jack
            client = jack.Client("rtconvert-ports", no_start_server=True)
        except Exception as exc:  # ImportError, OSError (no libjack), JackError
            raise AudioDeviceError(f"cannot reach the JACK server ({exc})") from exc
        try:
            inputs = client.get_ports("PortAudio.*:in_", is_input=True, is_audio=True)
            outputs = client.get_ports("PortAudio.*:out_", is_output=True, is_audio=True)
        finally:
            client.close()
        if not inputs or not outputs:
            raise AudioDeviceError("the stream has no JACK ports; open it on the JACK host API")
        return inputs[0].name, outputs[0].name

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
        block = indata[:, 0].astype(np.float64)
        self._input.push(block)
        self._wake.set()
        converted, missing = self._output.pop(frames)
        if missing:
            self.status.late_blocks += 1
        outdata[:, 0] = converted
        if self._monitor is not None:
            self._monitor_queue.push(converted)
        self.replay.record(block, converted)
        recorder = self._recorder
        if recorder is not None:
            recorder.push(block, converted)
        if self.status.first_audio_at is None and \
                (self.status.callbacks + 1) * frames > self._first_audio_sample:
            self.status.first_audio_at = time.monotonic()
        self.status.callbacks += 1

    def _work(self) -> None:
        """The worker thread: convert whatever input has arrived, queue it for the callback."""
        following = False
        while not self._stopping:
            self._wake.wait(0.1)
            self._wake.clear()
            if not following and self._callback_priority is not _UNKNOWN:
                run_just_below(self._callback_priority)
                following = True
            stream = self._stream
            if stream is not None and not stream.active and not self._stopping:
                self._finished()  # PortAudio does not always say when a server goes away
                return
            block = self._input.pop_all()
            if not len(block):
                continue
            began = time.perf_counter()
            self._output.push(self.engine.process(block))
            load = (time.perf_counter() - began) * self.rate / len(block)
            status = self.status
            status.load = 0.95 * status.load + 0.05 * load
            status.input_db, status.output_db = self.engine.input_db, self.engine.output_db
            limiter = self.engine.mixer.limiter
            released = status.limiter_db + LIMITER_FALL_DB_S * len(block) / self.rate
            status.limiter_db = min(0.0, released, limiter.read_reduction_db())
            status.limited_samples = limiter.limited_samples

    def _monitor_callback(self, outdata: np.ndarray, frames: int, timing: Any,
                          status: sd.CallbackFlags) -> None:
        live, _ = self._monitor_queue.pop(frames)
        outdata[:, 0] = self.replay.play(live)
        # Clock drift: a monitor slower than the main device would queue without end.
        self._monitor_queue.trim(MONITOR_QUEUE_BLOCKS * frames)

    def _finished(self) -> None:
        if not self._stopping and self.status.error is None:
            forget_dead_stream()
            self.status.error = "the audio stream stopped: a device was disconnected or failed"
            if self.on_stop is not None:
                self.on_stop(self.status.error)

    def hear_it(self) -> float:
        """Play the last seconds converted, then unconverted, on the monitor; returns seconds."""
        if self._monitor is None:
            raise AudioDeviceError("'hear it' plays on the monitor device: pick your headphones "
                                   "as the monitor and start again")
        return self.replay.start()

    # -- recording -----------------------------------------------------------------------

    def start_recording(self, input_path: Path, output_path: Path) -> None:
        """Write what comes in and what goes out to two WAV files until stopped.

        The files get their names when the recording stops (:class:`.WavRecorder`).

        Raises
        ------
        OutputError
            If a folder is missing or not writable.
        """
        self.stop_recording()
        self._recorder = WavRecorder(input_path, output_path, self.rate)

    def stop_recording(self) -> None:
        """Finish the recording; raises OutputError if it stopped early (a full disk)."""
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()

    def status_line(self) -> str:
        s = self.status
        return (f"in {s.input_db:6.1f} dB  out {s.output_db:6.1f} dB  "
                f"latency {1000 * self.latency_s:.1f} ms  load {100 * s.load:3.0f}%  "
                f"underruns {s.output_underflows + s.late_blocks}  overruns {s.input_overflows}  "
                f"limiter {s.limiter_db:5.1f} dB")
