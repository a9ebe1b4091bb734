"""JACK: a client of the running server, a dummy server for measurements and tests, and the
ports a PortAudio stream registered."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AudioDeviceError

if TYPE_CHECKING:
    import jack

#: Seconds a started server has to accept clients.
SERVER_START_S = 10.0


def open_client(name: str, server: str | None = None) -> jack.Client:
    """A client of the running JACK server ``server`` (default: the user's default one).

    Never starts a server. Raises AudioDeviceError, with what to do, when JACK-Client or
    libjack is missing or no such server runs.
    """
    try:
        import jack
    except (ImportError, OSError) as exc:  # no JACK-Client, or no libjack
        raise AudioDeviceError(f"JACK needs the JACK-Client package and libjack ({exc})") from None
    try:
        return jack.Client(name, servername=server, no_start_server=True)
    except jack.JackError as exc:
        which = f"JACK server {server!r}" if server else "JACK server"
        raise AudioDeviceError(f"no {which} is running; start one, e.g. "
                               f"`jackd -d dummy -r 48000 -p 256` ({exc})") from None


def start_dummy_server(name: str, rate: int = 48000, period: int = 256,
                       priority: int | None = None, log: Path | None = None,
                       realtime: bool = True) -> subprocess.Popen:
    """``jackd -R [-P priority] -n name -d dummy -r rate -p period``, once a client can connect.

    Without ``realtime``, ``-r`` instead of ``-R``: no client thread gets real-time scheduling.

    Its messages (xruns name the late client) go to ``log``, or nowhere: a pipe nobody
    reads would fill up and stall the server. Raises AudioDeviceError if it does not start.
    """
    if shutil.which("jackd") is None:
        raise AudioDeviceError("jackd is not installed (apt-get install jackd2)")
    command = ["jackd", "-R" if realtime else "-r", *(["-P", str(priority)] if priority else []),
               "-n", name, "-d", "dummy", "-r", str(rate), "-p", str(period)]
    with open(log or "/dev/null", "ab") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=sink)
    deadline = time.monotonic() + SERVER_START_S
    while server.poll() is None and time.monotonic() < deadline:
        try:
            open_client("probe", name).close()
            return server
        except AudioDeviceError:
            time.sleep(0.05)  # polling for readiness: JACK has no 'ready' notification
    stop_server(server)
    tail = log.read_text()[-300:] if log is not None and log.is_file() else ""
    raise AudioDeviceError(f"jackd did not start ({' '.join(command)}): {tail}")


def stop_server(server: subprocess.Popen) -> None:
    """Terminate ``server`` and wait for it (kill it if it hangs)."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def portaudio_ports() -> tuple[str, str]:
    """The JACK ports PortAudio registered for its (one) stream: (input, output)."""
    client = open_client("rtconvert-ports")
    try:
        inputs = client.get_ports("PortAudio.*:in_", is_input=True, is_audio=True)
        outputs = client.get_ports("PortAudio.*:out_", is_output=True, is_audio=True)
    finally:
        client.close()
    if not inputs or not outputs:
        raise AudioDeviceError("the stream has no JACK ports; open it on the JACK host API")
    return inputs[0].name, outputs[0].name
