"""Start-up: what ``--help`` and ``devices`` import, their time against numpy's, and ``run``'s."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import launch_jack, needs_jackd, stop_jack

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "startup_time.py"
RTCONVERT = Path(sys.executable).parent / "rtconvert"  # the console script, as a user runs it

#: What neither ``--help`` nor ``devices`` needs; each costs 0.1 to 1 s to import.
HEAVY = ("onnxruntime", "scipy", "soxr", "pyworld", "librosa", "torch", "PyQt6")

#: Runs the launcher on its arguments, then prints the heavy modules it imported, last line.
IMPORTS_OF = f"""
import json, sys
from rtconvert.cli.launcher import main
try:
    main(sys.argv[1:])
except SystemExit:  # --help
    pass
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))
"""


def _run(argv: list[str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=False, capture_output=True, text=True, **options)


@pytest.mark.parametrize("argv", [["--help"], ["devices"]])
def test_help_and_devices_import_nothing_heavy(argv):
    done = _run([sys.executable, "-c", IMPORTS_OF, *argv], timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_startup_time_script_reports_medians_and_ratios(tmp_path):
    out = tmp_path / "startup.json"
    done = _run([sys.executable, str(SCRIPT), "--runs", "3", "--json", str(out)], timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["runs"] == 3
    assert set(result["median_s"]) == set(result["best_s"]) == {"numpy", "help", "devices"}
    for name, median in result["median_s"].items():
        assert 0 < result["best_s"][name] <= median
    for name, ratio in result["ratio"].items():
        assert ratio == pytest.approx(result["median_s"][name] / result["median_s"]["numpy"])
        assert f"ratio {name} / numpy: {ratio:.2f}" in done.stdout
    # The times themselves are the machine's: the script reports them (docs/performance.md,
    # docs/bench); what keeps start-up fast is what the commands import, held by the test above.


def test_startup_time_script_says_in_one_line_what_failed(tmp_path):
    done = _run([sys.executable, str(SCRIPT), "--python", str(tmp_path / "python")])
    assert done.returncode == 1 and done.stdout == ""
    assert re.fullmatch(r"startup_time: error: .*python.*\n", done.stderr), done.stderr


@needs_jackd
def test_run_reports_the_time_from_the_command_to_the_first_converted_audio():
    name = f"rtconvert-startup-{os.getpid()}"
    server = launch_jack(name)
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    try:
        start = time.monotonic()
        done = _run([str(RTCONVERT), "run", "--host-api", "JACK", "--seconds", "2",
                     "--no-control"], env=env, timeout=60)
        wall_s = time.monotonic() - start
    finally:
        stop_jack(server)
    assert done.returncode == 0, done.stderr
    found = re.search(r"first converted audio (\d+\.\d\d) s after the command started\n",
                      done.stdout)
    assert found, done.stdout
    # Counted from the process's start: the imports and the model's loading are in it, and
    # it comes before the command's 2 s of streaming are over.
    assert 0.1 < float(found[1]) < wall_s - 1, (found[0], wall_s)
