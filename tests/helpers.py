"""Helpers the tests share: paths of the real corpus, generated speech, a JACK dummy server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rtconvert.errors import AudioDeviceError
from rtconvert.live.jack import portaudio_ports, start_dummy_server, stop_server
from rtconvert.live.virtualmic import SINK_NAME, SOURCE_NAME

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RAVDESS_ROOT = SHARED_DATA / "ravdess24k"
SEED_CSV = REPO.parent / "shared" / "seed" / "data.csv"
#: Where session fixtures keep features of the real corpus between runs (gitignored).
TEST_CACHE = REPO / "cache" / "test-features"

EMODB_ROOT = SHARED_DATA / "emodb16k"

needs_ravdess = pytest.mark.skipif(
    not RAVDESS_ROOT.is_dir(),
    reason=f"RAVDESS corpus not found at {RAVDESS_ROOT} (only the project's machines have it)")
needs_emodb = pytest.mark.skipif(
    not EMODB_ROOT.is_dir(),
    reason=f"EmoDB speakers not found at {EMODB_ROOT} (only the project's machines have them)")


#: How long a test waits for something the software controls before it calls it failed:
#: generous, so that a busy machine (two cores, other work beside) is slow, not red.
PATIENCE_S = 30.0
#: How often a test looks at a playing stream (:func:`wait_for`'s ``every_s``).
STREAM_POLL_S = 0.1


def wait_for(condition: Callable[[], object], timeout_s: float = PATIENCE_S,
             every_s: float = 0.005) -> bool:
    """Poll ``condition`` every ``every_s`` until it is true or ``timeout_s`` passed; whether
    it became true.

    The one way tests wait: on a condition, never for a fixed time. While a stream plays,
    poll it seldom (:data:`STREAM_POLL_S`): each look takes the interpreter lock, and a
    test thread that the busy machine preempts while holding it holds up the real-time
    audio threads too.
    """
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return bool(condition())
        time.sleep(every_s)
    return True


def with_helpers(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this folder on PYTHONPATH: a test's child script can wait with
    :func:`wait_for` too."""
    path = os.pathsep.join(filter(None, [str(REPO / "tests"), env.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": path}


def speak(text: str, path: Path, pitch: int = 50, speed: int = 150, voice: str = "en") -> Path:
    """Write espeak-ng speech to ``path`` (22.05 kHz WAV); skip the test if espeak-ng is absent."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(path),
                    text], check=True, capture_output=True)
    return path


SENTENCES = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
#: espeak-ng stand-ins for acted emotions: (emotion code, intensity code, pitch step, speed).
ESPEAK_EMOTIONS = (("01", "01", 0, 150), ("03", "02", 35, 175), ("04", "02", -15, 120))


def make_espeak_corpus(root: Path, actors: dict[str, int]) -> Path:
    """A RAVDESS-named corpus spoken by espeak-ng: one voice pitch per actor, and per
    'emotion' a pitch step and speaking rate. Returns ``root``."""
    for actor, base_pitch in actors.items():
        folder = root / "RAVDESS" / f"Actor_{actor}"
        folder.mkdir(parents=True, exist_ok=True)
        for emotion, intensity, step, speed in ESPEAK_EMOTIONS:
            for statement, text in SENTENCES.items():
                name = f"03-01-{emotion}-{intensity}-{statement}-01-{actor}.wav"
                speak(text, folder / name, pitch=base_pitch + step, speed=speed)
    return root


#: Python source that makes any import of torch fail, for "runs without torch" checks.
BLOCK_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked: the runtime must not need it")
sys.meta_path.insert(0, _NoTorch())
"""


# -- a JACK server with the dummy backend, for the live-audio tests ----------------------

JACK_RATE, JACK_PERIOD = 48000, 256
needs_jackd = pytest.mark.skipif(shutil.which("jackd") is None,
                                 reason="jackd is not installed (apt-get install jackd2)")
JACK_LOG = Path(tempfile.gettempdir()) / f"rtconvert-test-jackd-{os.getpid()}.log"


def launch_jack(name: str) -> subprocess.Popen:
    """A JACK server with the dummy backend (:mod:`rtconvert.live.jack`), once it answers;
    realtime where the machine allows. Its messages (xruns name the late client) go to
    ``JACK_LOG``."""
    try:
        return start_dummy_server(name, JACK_RATE, JACK_PERIOD, priority=70, log=JACK_LOG)
    except AudioDeviceError as exc:
        pytest.fail(str(exc))


def start_jack(name: str) -> subprocess.Popen:
    """``launch_jack``, made this process's default server."""
    from rtconvert.live.devices import refresh_devices

    server = launch_jack(name)
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_START_SERVER"] = "1"
    refresh_devices()  # PortAudio lists JACK's devices only if the server runs when it scans
    return server


def stop_jack(server: subprocess.Popen) -> None:
    import sounddevice as sd

    sd._terminate()  # PortAudio must let go of the server while it still answers
    stop_server(server)
    sd._initialize()


#: The JACK ports of the (one) PortAudio stream another process opened: (input, output).
jack_stream_ports = portaudio_ports


#: What the virtual-microphone tests start (a headless PipeWire) and call.
PIPEWIRE_TOOLS = ("dbus-daemon", "pipewire", "wireplumber", "pipewire-pulse", "pactl", "pacat",
                "parecord")
needs_pipewire = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in PIPEWIRE_TOOLS),
    reason="PipeWire is not installed (apt-get install pipewire pipewire-pulse wireplumber "
           "pulseaudio-utils dbus-daemon; scripts/setup.sh --dev does)")


def pactl_answers() -> bool:
    return subprocess.run(["pactl", "info"], capture_output=True).returncode == 0


def sources() -> list[str]:
    listing = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True,
                             text=True, check=True).stdout
    return [line.split("\t")[1] for line in listing.splitlines()]


def our_modules() -> list[str]:
    listing = subprocess.run(["pactl", "list", "short", "modules"], capture_output=True,
                             text=True, check=True).stdout
    return [line for line in listing.splitlines()
            if f"sink_name={SINK_NAME}" in line or f"source_name={SOURCE_NAME}" in line]


def players() -> list[str]:
    """The pacat clients connected to the sound server the tests started."""
    listing = subprocess.run(["pactl", "list", "short", "clients"], capture_output=True,
                             text=True, check=True).stdout
    return [line for line in listing.splitlines() if line.split("\t")[-1] == "pacat"]
