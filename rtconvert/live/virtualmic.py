"""A virtual microphone: an audio source named "rtconvert" that other applications record from.

On PipeWire (through its PulseAudio server, pipewire-pulse) and on plain PulseAudio, two
modules make it: a null sink the converted voice plays into, and a remap of that sink's
monitor as a source with a microphone's name, which Discord, OBS and browsers list among
the microphones. The audio callback only copies its output block into a ring; a writer
thread hands the ring to ``pacat``, which plays it into the sink at the stream's rate.

The modules live in the sound server, not in this process: :meth:`VirtualMic.close`
unloads them (``rtconvert run`` and the app close it on Ctrl-C, SIGTERM and errors). They
carry the process id of the rtconvert that made them: a start removes those whose process
is gone (a killed run's), and refuses while another rtconvert still feeds the source.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import AudioDeviceError
from .ring import SampleRing
from .rtthreads import run_just_below

#: The source applications list as a microphone.
SOURCE_NAME = "rtconvert"
#: The null sink the converted voice plays into (its monitor feeds the source).
SINK_NAME = "rtconvert_voice"
#: What pacat asks the server to buffer: the virtual microphone's own latency, and its slack
#: against a sound server scheduled late (which then plays a gap and delays what follows).
PLAYER_LATENCY_MS = 30
#: Converted audio queued for the writer at most; beyond, the oldest is dropped, so a sound
#: server whose clock runs slower than the audio device's never delays the source for ever.
MAX_QUEUE_S = 0.1
#: pacat's input pipe: one page (21 ms at 48 kHz), so that audio waits in the ring, where a
#: late server costs the oldest samples, not in 64 KB of pipe (340 ms).
PIPE_BYTES = 4096
#: The property that names the process feeding the modules.
OWNER_PROPERTY = "rtconvert.pid"
_TOOLS = ("pactl", "pacat")
_COMMAND_TIMEOUT_S = 10.0
WHAT_INSTEAD = "or pick a virtual cable as the output instead (README: Streaming setup)"


def _pactl(*args: str) -> str:
    """Run pactl; AudioDeviceError with its message if it fails."""
    try:
        done = subprocess.run(["pactl", *args], capture_output=True, text=True,
                              timeout=_COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise AudioDeviceError(f"virtual microphone: pactl {args[0]} did not answer in "
                               f"{_COMMAND_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        reason = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise AudioDeviceError(f"virtual microphone: pactl {' '.join(args[:2])} failed: "
                               f"{reason[-1] if reason else f'exit code {done.returncode}'}")
    return done.stdout


def sound_server() -> str:
    """The running PipeWire or PulseAudio server's name, e.g. "PulseAudio (on PipeWire 1.0.5)".

    Raises
    ------
    AudioDeviceError
        One line saying what is missing and what to do instead: the tools (pactl, pacat)
        are not installed or no server answers.
    """
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        raise AudioDeviceError(f"the virtual microphone needs PipeWire or PulseAudio and their "
                               f"{' and '.join(missing)} (Debian: pulseaudio-utils): install "
                               f"them, {WHAT_INSTEAD}")
    try:
        info = _pactl("info")
    except AudioDeviceError as exc:
        reason = str(exc).rsplit(": ", 1)[-1]
        raise AudioDeviceError(f"the virtual microphone needs PipeWire or PulseAudio, and none "
                               f"answers ({reason}): start one, {WHAT_INSTEAD}") from None
    found = re.search(r"^Server Name: (.+)$", info, re.MULTILINE)
    return found.group(1) if found else "a PulseAudio server"


def our_modules() -> dict[int, int | None]:
    """The modules that make an "rtconvert" source or sink: index -> the process id of the
    rtconvert that loaded them (None where they do not say)."""
    ours = re.compile(rf"\b(sink_name={SINK_NAME}|source_name={SOURCE_NAME})(\s|$)")
    owner = re.compile(rf"{re.escape(OWNER_PROPERTY)}=(\d+)")
    found = {}
    for line in _pactl("list", "short", "modules").splitlines():
        index, _, rest = line.partition("\t")
        if index.isdigit() and ours.search(rest):
            pid = owner.search(rest)
            found[int(index)] = int(pid.group(1)) if pid else None
    return found


def _running(pid: int | None) -> bool:
    """Whether another rtconvert runs as ``pid`` (not a process that took a dead one's id)."""
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        pass
    try:
        return b"rtconvert" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # no /proc (not Linux): the id alone
        return True


def remove_stale() -> None:
    """Unload what a killed rtconvert left; AudioDeviceError if a running one feeds the source."""
    modules = our_modules()
    alive = {pid for pid in modules.values() if _running(pid)}
    if alive:
        raise AudioDeviceError(f'the virtual microphone "{SOURCE_NAME}" is fed by another '
                               f"rtconvert (process {min(alive)}): stop it first")
    for index in modules:
        _pactl("unload-module", str(index))


class VirtualMic:
    """The "rtconvert" source, fed at ``rate`` Hz by :meth:`push`, until :meth:`close`.

    ``on_error`` is called (from the writer thread) with a message if the feed stops on its
    own: the sound server or pacat went away.

    Raises
    ------
    AudioDeviceError
        If no PipeWire or PulseAudio server runs (one line saying what to do instead),
        another rtconvert feeds the source, or the server refuses the modules.
    """

    def __init__(self, rate: int, on_error: Callable[[str], None] | None = None) -> None:
        self.server = sound_server()
        self.rate, self.on_error = rate, on_error
        self.overflows = 0  # samples the full ring could not take (callback)
        self.late = 0  # samples dropped because the server fell behind (writer)
        self.error: str | None = None  # why the writer stopped early
        self._modules: list[int] = []
        self._player: subprocess.Popen | None = None
        self._ring = SampleRing(round(2 * MAX_QUEUE_S * rate), dtype=np.float32)
        self._closing = threading.Event()
        self._arrived = threading.Event()  # the callback wakes the writer
        self._priority: int | None = None  # real-time priority for the writer, once known
        owner = f"{OWNER_PROPERTY}={os.getpid()}"
        try:
            remove_stale()
            self._load("module-null-sink", f"sink_name={SINK_NAME}", f"rate={rate}",
                       "channels=1",
                       f'sink_properties=device.description="rtconvert voice" {owner}')
            self._load("module-remap-source", f"master={SINK_NAME}.monitor",
                       f"source_name={SOURCE_NAME}", "channels=1",
                       f"source_properties=device.description=rtconvert {owner}")
            self._player = subprocess.Popen(
                ["pacat", "--playback", f"--device={SINK_NAME}", "--raw",
                 "--format=float32le", f"--rate={rate}", "--channels=1",
                 f"--latency-msec={PLAYER_LATENCY_MS}", "--client-name=rtconvert",
                 "--stream-name=virtual microphone"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _shrink_pipe(self._player.stdin)
        except BaseException:
            self.close()
            raise
        self._writer = threading.Thread(target=self._write, args=(self._player,),
                                        name="rtconvert-virtual-mic", daemon=True)
        self._writer.start()

    @property
    def dropped(self) -> int:
        """Samples that never reached the source (the ring was full, or the server late)."""
        return self.overflows + self.late

    def run_below(self, priority: int | None) -> None:
        """Give the writer real-time priority ``priority`` (one below the engine's worker);
        None: ordinary scheduling, as where the audio callback is not real-time."""
        self._priority = priority

    def _load(self, module: str, *arguments: str) -> None:
        self._modules.append(int(_pactl("load-module", module, *arguments).strip()))

    def push(self, block: npt.NDArray) -> None:
        """Hand over a converted block (audio callback: copies only, never waits)."""
        self.overflows += self._ring.write(block)
        self._arrived.set()

    def _write(self, player: subprocess.Popen) -> None:
        """Writer thread: the ring to pacat, in the pieces that have arrived."""
        assert player.stdin is not None
        piece = np.empty(self._ring.capacity, dtype=np.float32)
        keep = round(MAX_QUEUE_S * self.rate)
        priority = None
        while not self._closing.is_set():
            self._arrived.wait(0.1)
            self._arrived.clear()
            if self._priority != priority:
                # Real-time just below the worker where it is: above the machine's other
                # work, which would otherwise make pacat's 30 ms run dry.
                priority = self._priority
                run_just_below((priority or 0) + 1)
            if self._ring.available > keep:  # the server fell behind the device's clock
                self.late += self._ring.available - keep
                self._ring.skip_beyond(keep)
            n = self._ring.available
            if not n:
                continue
            self._ring.read_into(piece[:n])
            try:
                player.stdin.write(piece[:n].tobytes())
                player.stdin.flush()
            except (OSError, ValueError):  # pacat exited (or close() closed its input)
                if not self._closing.is_set():
                    player.wait()
                    said = (player.stderr.read().decode(errors="replace").strip().splitlines()
                            if player.stderr else [])
                    self.error = ("the virtual microphone stopped: pacat exited ("
                                  f"{said[-1] if said else f'exit code {player.returncode}'})")
                    if self.on_error is not None:
                        self.on_error(self.error)
                return

    def close(self) -> None:
        """Stop feeding the source and remove it; safe to call twice."""
        self._closing.set()
        self._arrived.set()
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.join(_COMMAND_TIMEOUT_S)
        player, self._player = self._player, None
        if player is not None:
            if writer is not None and writer.is_alive():
                player.kill()  # its stalled write then fails, and the writer ends
            try:
                player.stdin.close()  # type: ignore[union-attr]
            except (OSError, ValueError):
                pass
            try:
                player.wait(timeout=_COMMAND_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                player.kill()
                player.wait()
            if player.stderr is not None:
                player.stderr.close()
        if writer is not None:
            writer.join()
        modules, self._modules = self._modules, []
        for index in reversed(modules):  # the source before the sink it remaps
            try:
                _pactl("unload-module", str(index))
            except AudioDeviceError:
                pass  # the server went away, and the modules with it

    def describe(self) -> str:
        return f'virtual microphone "{SOURCE_NAME}" on {self.server}'


def _shrink_pipe(pipe) -> None:
    """Make a pipe to a child one page big (PIPE_BYTES) where Linux allows it."""
    try:
        import fcntl  # POSIX only; F_SETPIPE_SZ: Linux only
    except ImportError:
        return
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is not None:
        fcntl.fcntl(pipe.fileno(), setting, PIPE_BYTES)
