"""JACK for measurements and tests: a dummy server, and the ports a PortAudio stream registered."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from ..errors import AudioDeviceError


def start_dummy_server(name: str, rate: int = 48000, period: int = 256,
                       priority: int | None = None, log: Path | None = None,
                       realtime: bool = True) -> subprocess.Popen:
    """``jackd -R [-P priority] -n name -d dummy -r rate -p period``, once a client can connect.

    Without ``realtime``, ``-r`` instead of ``-R``: no client thread gets real-time scheduling.

    Its messages (xruns name the late client) go to ``log``, or nowhere: a pipe nobody
    reads would fill up and stall the server. Raises AudioDeviceError if it does not start.
    """
    import jack

    if shutil.which("jackd") is None:
        raise AudioDeviceError("jackd is not installed (apt-get install jackd2)")
    command = ["jackd", "-R" if realtime else "-r", *(["-P", str(priority)] if priority else []),
               "-n", name, "-d", "dummy", "-r", str(rate), "-p", str(period)]
    with open(log or "/dev/null", "ab") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=sink)
    for _ in range(100):
        try:
            jack.Client("probe", servername=name, no_start_server=True).close()
            return server
        except jack.JackError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
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
