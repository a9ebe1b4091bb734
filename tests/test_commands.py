"""One error path for every command: bad arguments, configs, folders and installs give one line
naming the command and a non-zero exit, quickly, with a traceback only under ``--debug``.

Every case runs the installed console script in a real subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from helpers import REPO

BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"
#: Seconds a refusal may take: start-up and imports (torch for the training commands) on a
#: busy 2-core machine, never the work itself (a default benchmark takes 30 s).
QUICK_S = 25


def _run(command: str, *args: str, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    result = subprocess.run([str(BIN / command), *args], check=False, capture_output=True,
                            text=True, timeout=300, cwd=cwd,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    return result, time.monotonic() - began


def _assert_one_line(result: subprocess.CompletedProcess, command: str, *words: str) -> str:
    error = result.stderr.strip()
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in error, error
    assert len(error.splitlines()) == 1, error
    assert error.startswith(f"{command}"), error
    for word in words:
        assert word in error, (word, error)
    return error


@pytest.mark.parametrize("args, words", [
    (["--seconds", "0"], ["--seconds"]),
    (["--seconds", "nan"], ["--seconds"]),
    (["--rate", "1"], ["1 Hz"]),
    (["--json", "missing/dir/x.json"], ["missing/dir", "does not exist"]),
    (["--block", "0"], ["--block"]),
    (["--input", "nothing.wav"], ["nothing.wav"]),
])
def test_bench_refuses_bad_arguments_before_running(args, words, tmp_path):
    result, seconds = _run("rtconvert", "bench", *args, cwd=tmp_path)
    _assert_one_line(result, "rtconvert", *words)
    assert seconds < QUICK_S


@pytest.mark.parametrize("args, words", [
    (["run", "--rate", "1", "--seconds", "1"], ["1 Hz"]),
    (["convert", "x.wav", "y.wav"], ["--emotion"]),
    (["frobnicate"], ["frobnicate"]),
    (["info", "--model", "nowhere"], ["nowhere"]),
])
def test_rtconvert_usage_errors_are_one_line(args, words, tmp_path):
    result, _ = _run("rtconvert", *args, cwd=tmp_path)
    _assert_one_line(result, "rtconvert", *words)


def test_debug_shows_the_traceback(tmp_path):
    result, _ = _run("rtconvert", "info", "--model", "nowhere", "--debug", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


# -- training commands ------------------------------------------------------------------------

def _write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_train_names_a_typo_and_the_key_it_meant(tmp_path):
    default = (REPO / "training/conf/default.yaml").read_text()
    typo = re.sub(r"^(\s+)steps:", r"\1stpes:", default, count=1, flags=re.MULTILINE)
    assert "stpes:" in typo
    config = _write_config(tmp_path / "typo.yaml", typo)
    result, seconds = _run("rtconvert-train", "--config", str(config), "--run-dir",
                           str(tmp_path / "run"), cwd=REPO)
    _assert_one_line(result, "rtconvert-train", "train.stpes", "train.steps")
    assert seconds < QUICK_S
    assert not (tmp_path / "run" / "config.yaml").exists()


@pytest.mark.parametrize("args, words", [
    (["--config", "missing.yaml"], ["missing.yaml"]),
    (["--set", "train.steps"], ["train.steps", "key=value"]),
    (["--set", "train.steps=many"], ["train.steps", "many"]),
    (["--set", "trian.steps=10"], ["trian", "train"]),
    (["--set", "data.root=/no/such/folder"], ["/no/such/folder"]),
])
def test_train_refuses_bad_configs_at_once(args, words, tmp_path):
    result, seconds = _run("rtconvert-train", "--run-dir", str(tmp_path / "run"), *args, cwd=REPO)
    _assert_one_line(result, "rtconvert-train", *words)
    assert seconds < QUICK_S
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_a_failed_data_check_leaves_no_config_behind(tmp_path):
    """A root with no corpus passes the config check and fails the data check: the run folder
    must not keep a config that a corrected re-run would read instead of its own."""
    (tmp_path / "empty").mkdir()
    result, _ = _run("rtconvert-train", "--run-dir", str(tmp_path / "run"), "--no-progress",
                     "--set", f"data.root={tmp_path / 'empty'}", f"data.cache={tmp_path / 'c'}",
                     cwd=REPO)
    _assert_one_line(result, "rtconvert-train", "0 training utterances")
    assert not (tmp_path / "run" / "config.yaml").exists()


@pytest.mark.parametrize("command, args, words", [
    ("rtconvert-export", ["--run-dir", "no-run", "--output", "out"], ["no-run"]),
    ("rtconvert-stats", ["--cache", "no-cache", "-o", "stats.json"], ["no-cache"]),
    ("rtconvert-stats", ["--cache", ".", "-o", "missing/stats.json"], ["missing"]),
    ("rtconvert-evaluate", ["--root", "no-root", "--workers", "1"], ["no-root"]),
    ("rtconvert-evaluate", ["--json", "missing/x.json"], ["missing"]),
    ("rtconvert-index", ["build", "no-root", "-o", "index.csv"], ["no-root"]),
    ("rtconvert-index", ["build", ".", "-o", "missing/index.csv"], ["missing"]),
    ("rtconvert-index", ["check", "no-index.csv", "--root", "."], ["no-index.csv"]),
    ("rtconvert-index", ["check", "index.csv", "--root", "no-root"], ["no-root"]),
    ("rtconvert-index", ["from-seed", "no-seed.csv", "-o", "x.csv"], ["no-seed.csv"]),
    ("rtconvert-extract", ["--root", "no-root"], ["no-root"]),
    ("rtconvert-extract", ["--root", ".", "--index", "no-index.csv"], ["no-index.csv"]),
    ("rtconvert-extract", ["--root", ".", "--workers", "0"], ["--workers"]),
])
def test_training_commands_refuse_missing_folders_and_files(command, args, words, tmp_path):
    (tmp_path / "index.csv").write_text("filepath,emotion,intensity\n")
    result, seconds = _run(command, *args, cwd=tmp_path)
    _assert_one_line(result, command, *words)
    assert seconds < QUICK_S


@pytest.mark.parametrize("command, args", [
    ("rtconvert-train", ["--run-dir", "run"]),
    ("rtconvert-export", ["--run-dir", "run", "--output", "out"]),
])
def test_training_commands_without_torch_name_the_extra(command, args, tmp_path):
    """A runtime-only install: importing torch fails exactly as when it is not installed."""
    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    result, _ = _run(command, *args, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")})
    _assert_one_line(result, command, "torch", "rtconvert[train]")


def test_index_check_calls_a_truncated_flac_unreadable(tmp_path):
    from training.corpus import label_file
    from training.index import check

    actor = tmp_path / "RAVDESS" / "Actor_01"
    actor.mkdir(parents=True)
    whole = actor / "03-01-01-01-01-01-01.flac"
    soundfile.write(whole, 0.3 * np.random.default_rng(0).standard_normal(48000), 24000)
    cut = actor / "03-01-03-01-01-01-01.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert soundfile.info(str(cut)).frames == 48000  # the header still promises every sample
    rows = [label_file(f"RAVDESS/Actor_01/{p.name}") for p in (whole, cut)]
    report = check(rows, tmp_path)
    assert report.found == [rows[0].filepath]
    assert [line.split(":")[0] for line in report.unreadable] == [rows[1].filepath]


@pytest.mark.parametrize("command", [["rtconvert"], ["rtconvert", "ctl"], ["rtconvert", "run"],
                                     ["rtconvert-train"], ["rtconvert-evaluate"],
                                     ["rtconvert-export"], ["rtconvert-index"],
                                     ["rtconvert-extract"], ["rtconvert-stats"]])
def test_every_command_says_its_version(command):
    from rtconvert import __version__

    result, _ = _run(command[0], *command[1:], "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{' '.join(command)} {__version__}\n"
