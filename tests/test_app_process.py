"""The app and ``rtconvert run`` as real processes: no display, Ctrl-C, a missing or dying JACK
server, what ``run`` says it uses, the starting emotion they share."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import REPO, launch_jack, needs_jackd, with_helpers

from rtconvert.bundle import load_bundle
from rtconvert.cli.commands import build_parser

RTCONVERT = [sys.executable, "-m", "rtconvert.cli.commands"]


def _env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    """This process's environment with its own config folder, and ``changes`` (None deletes)."""
    env = with_helpers({**os.environ, "OMP_NUM_THREADS": "1",
                        "XDG_CONFIG_HOME": str(tmp_path / "config")})
    for key, value in changes.items():
        env.pop(key, None)
        if value is not None:
            env[key] = value
    return env


def _one_line(result: subprocess.CompletedProcess, *words: str) -> str:
    error = result.stderr.strip()
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert len(error.splitlines()) == 1 and "Traceback" not in error, error
    assert error.startswith("rtconvert"), error
    for word in words:
        assert word in error, (word, error)
    return error


@pytest.mark.parametrize("display", [None, ":97"])
def test_without_a_display_the_app_says_so_and_points_to_run(display, tmp_path):
    assert not Path("/tmp/.X11-unix/X97").exists()
    env = _env(tmp_path, DISPLAY=display, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None)
    result = subprocess.run([*RTCONVERT, "gui", "--no-control"], capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    _one_line(result, "display", "rtconvert run")


def _wait_for_line(process: subprocess.Popen, text: str, timeout: float) -> str:
    deadline, seen = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            seen += line
            if text in line:
                return line
        if process.poll() is not None:
            break
    raise AssertionError(f"no line with {text!r}; saw {seen!r}, stderr "
                         f"{process.stderr.read() if process.poll() is not None else ''}")


def test_ctrl_c_closes_the_app_cleanly(tmp_path):
    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen")
    refused = subprocess.run([*RTCONVERT, "gui", "--emotion", "happy=1,bored=1"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("rtconvert: error: unknown emotion 'bored'")
    process = subprocess.Popen([*RTCONVERT, "gui", "--no-control", "--emotion",
                                "happy=1,surprised=1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready = _wait_for_line(process, "Ctrl-C", 120)  # printed from inside the event loop
        assert "happy=0.5,surprised=0.5 at intensity" in ready, ready
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    finally:
        process.kill()
    stderr = process.stderr.read()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert (tmp_path / "config" / "rtconvert" / "presets.json").is_file()  # closed, not killed


def test_the_app_and_run_start_with_the_same_emotion(qtbot, tmp_path):
    from rtconvert.app.main import MainWindow
    from rtconvert.presets import PresetStore
    from rtconvert.settings import default_emotion

    bundle = load_bundle()
    window = MainWindow(bundle, PresetStore(tmp_path / "presets.json"))
    qtbot.addWidget(window)
    assert window.settings.emotion == default_emotion(bundle.emotions) != "neutral"
    assert build_parser().parse_args(["run"]).emotion in (None, window.settings.emotion)


def test_a_missing_jack_server_is_named(tmp_path):
    env = _env(tmp_path, JACK_DEFAULT_SERVER="rtconvert-no-such-server", JACK_NO_START_SERVER="1")
    result = subprocess.run([*RTCONVERT, "run", "--host-api", "JACK", "--seconds", "1",
                             "--no-control"], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    _one_line(result, "JACK server")


@needs_jackd
def test_run_says_which_devices_model_emotion_and_latency(tmp_path):
    name = f"rtconvert-run-line-{os.getpid()}"
    server = launch_jack(name)
    try:
        env = _env(tmp_path, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
        result = subprocess.run([*RTCONVERT, "run", "--host-api", "JACK", "--seconds", "1",
                                 "--no-control"], capture_output=True, text=True, env=env,
                                timeout=120, check=False)
    finally:
        server.terminate()
        server.wait(timeout=10)
    from rtconvert.settings import default_emotion

    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    emotion = default_emotion(load_bundle().emotions)
    for word in ("JACK", "default", emotion, "latency", "ms", "Hz"):
        assert word in first, (word, first)


DYING_SERVER_APP = textwrap.dedent("""
    import os, sys
    from PyQt6.QtWidgets import QApplication
    app = QApplication([])
    from rtconvert.bundle import load_bundle
    from rtconvert.settings import default_emotion
    from rtconvert.app.main import MainWindow
    from rtconvert.presets import PresetStore

    from helpers import wait_for

    def settle_until(condition, seconds=60):  # run the app's events meanwhile
        wait_for(lambda: app.processEvents() or condition(), timeout_s=seconds, every_s=0.02)

    window = MainWindow(load_bundle(), PresetStore(sys.argv[1]))
    for picker in (window.input_picker, window.output_picker):
        jack = [i for i in range(picker.count()) if "JACK" in picker.itemText(i)]
        picker.setCurrentIndex(jack[0])
    window.start_stream()
    settle_until(lambda: window.live is None or window.live.status.callbacks > 20)
    print("streaming", window.live is not None and window.live.active, flush=True)
    sys.stdin.readline()  # the test kills the server now
    settle_until(window.banner.isVisible)
    print("stopped:", window.banner.text(), flush=True)
    window.start_stream()  # refused at once: the banner says why
    app.processEvents()
    print("restart:", window.banner.text(), flush=True)
    os._exit(0)
""")


@needs_jackd
def test_after_the_jack_server_dies_one_message_tells_the_truth(tmp_path):
    # A killed server's slot in JACK's shared registry (8 slots) is freed only when a server
    # of the same name starts again: a name per run would use up the slots run by run.
    name = "rtconvert-dying-test"
    server = launch_jack(name)
    env = _env(tmp_path, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1",
               QT_QPA_PLATFORM="offscreen")
    app = subprocess.Popen([sys.executable, "-c", DYING_SERVER_APP, str(tmp_path / "p.json")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env, cwd=REPO)
    try:
        assert "streaming True" in _wait_for_line(app, "streaming", 120)
        server.kill()
        server.wait(timeout=10)
        app.stdin.write("go\n")
        app.stdin.flush()
        stopped = _wait_for_line(app, "stopped:", 60)
        restart = _wait_for_line(app, "restart:", 60)
    finally:
        app.kill()
        server.kill()
    print(stopped, restart)
    for line in (stopped, restart):
        assert "restart rtconvert" in line.lower(), line
        assert "Insufficient memory" not in line and "press Start" not in line, line
