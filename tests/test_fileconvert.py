"""File conversion as a user runs it: ``rtconvert convert`` on real files, in this process and as
a real subprocess (full disk, memory, hangs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from disk import listing, small_tmpfs

from rtconvert.bundle import load_bundle
from rtconvert.cli.commands import main
from rtconvert.config import FeatureConfig
from rtconvert.dsp.features import analyze
from rtconvert.engine.engine import Engine
from rtconvert.engine.prosody import CENTS_PER_LOG
from rtconvert.offline.audiofile import load_audio
from rtconvert.settings import Settings

RTCONVERT = [sys.executable, "-m", "rtconvert.cli.commands"]
EMOTIONS = load_bundle().emotions
FULL_SCALE_24 = 1.0 - 2.0 ** -23  # the largest positive 24-bit PCM sample


def _scaled_copy(source: Path, target: Path, peak_db: float, subtype: str = "PCM_24") -> Path:
    samples, rate = soundfile.read(source)
    soundfile.write(target, samples * 10 ** (peak_db / 20) / np.abs(samples).max(), rate,
                    subtype=subtype)
    return target


def _median_f0_cents(path: Path) -> float:
    """Median log-F0 of the voiced frames in cents (level-independent: normalised first)."""
    samples = load_audio(path, FeatureConfig().sample_rate).samples
    f0 = analyze(samples / np.abs(samples).max(), FeatureConfig()).f0_hz
    return float(np.median(np.log(f0[f0 > 0]))) * CENTS_PER_LOG


def _convert(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*RTCONVERT, "convert", *args], check=False, capture_output=True,
                          text=True, timeout=timeout, env=env)


# -- writing: atomic, onto the input, folder checked first, full disk ----------------------

def test_convert_onto_its_own_input_replaces_it(speech_file, tmp_path, capsys):
    path = tmp_path / "take.wav"
    shutil.copy(speech_file, path)
    before, rate = soundfile.read(path)
    assert main(["convert", str(path), str(path), "--emotion", "happy", "--intensity", "1"]) == 0
    after, after_rate = soundfile.read(path)
    assert after_rate == rate and len(after) == len(before)
    assert np.abs(after - before).max() > 0.01  # converted, not copied
    assert listing(tmp_path) == ["take.wav"]


def test_a_missing_output_folder_is_refused_before_any_work(speech_file, tmp_path, capsys):
    # The model is wrong too: the output folder must be what is checked first.
    code = main(["convert", str(speech_file), str(tmp_path / "missing" / "out.wav"),
                 "--emotion", "happy", "--model", str(tmp_path / "no-model")])
    error = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in error
    assert error.startswith("rtconvert: error:") and "missing does not exist" in error


def test_an_unknown_output_format_is_refused_before_any_work(speech_file, tmp_path, capsys):
    assert main(["convert", str(speech_file), str(tmp_path / "out.xyz"), "--emotion", "sad"]) == 1
    assert "unknown output format '.xyz'" in capsys.readouterr().err
    assert listing(tmp_path) == []


def test_a_full_disk_leaves_neither_a_partial_output_nor_a_damaged_input(speech_file, tmp_path):
    """On a 64 KB tmpfs: the input fits, the converted copy does not."""
    samples, rate = soundfile.read(speech_file)
    with small_tmpfs(tmp_path / "disk") as disk:
        take = disk / "take.wav"
        soundfile.write(take, samples[:int(0.9 * rate)], rate, subtype="PCM_16")  # ~40 KB
        original = take.read_bytes()
        for output in (take, disk / "converted.wav"):
            result = _convert(str(take), str(output), "--emotion", "happy")
            error = result.stderr.strip()
            assert result.returncode == 1, result.stderr
            assert error.startswith("rtconvert: error:") and "disk is full" in error, error
            assert "\n" not in error and "Traceback" not in error
            assert take.read_bytes() == original
            assert listing(disk) == ["take.wav"]


# -- levels: the limiter, the gate relative to the file -------------------------------------

@pytest.mark.parametrize("emotion", EMOTIONS)
def test_a_minus_1_dbfs_recording_never_reaches_full_scale(emotion, speech_file, tmp_path, capsys):
    loud = _scaled_copy(speech_file, tmp_path / "loud.wav", -1.0)
    out = tmp_path / f"{emotion}.wav"
    assert main(["convert", str(loud), str(out), "--emotion", emotion, "--intensity", "1"]) == 0
    converted, _ = soundfile.read(out)
    peak_db = 20 * np.log10(np.abs(converted).max())
    print(f"{emotion}: peak {peak_db:.2f} dBFS")
    assert np.abs(converted).max() < FULL_SCALE_24
    assert "limiter" in capsys.readouterr().out


def test_float_input_above_full_scale_is_limited_not_clipped(speech_file, tmp_path, capsys):
    hot = _scaled_copy(speech_file, tmp_path / "hot.wav", 6.0, subtype="FLOAT")
    out = tmp_path / "out.wav"
    assert main(["convert", str(hot), str(out), "--emotion", "neutral"]) == 0
    converted, _ = soundfile.read(out)
    assert np.abs(converted).max() < FULL_SCALE_24
    report = capsys.readouterr().out
    assert "limiter" in report and "dB" in report


def test_a_minus_50_dbfs_recording_gets_the_same_f0_shift(speech_file, tmp_path, capsys):
    shifts = {}
    for name, peak_db in (("normal", -1.0), ("quiet", -50.0)):
        source = _scaled_copy(speech_file, tmp_path / f"{name}.wav", peak_db)
        out = tmp_path / f"{name}-happy.wav"
        assert main(["convert", str(source), str(out), "--emotion", "happy",
                     "--intensity", "1"]) == 0
        shifts[name] = _median_f0_cents(out) - _median_f0_cents(source)
    print(f"F0 shift: normal {shifts['normal']:.0f} cents, -50 dBFS {shifts['quiet']:.0f} cents")
    assert abs(shifts["normal"]) > 100  # the emotion moves F0 at all
    assert abs(shifts["quiet"] - shifts["normal"]) < 100


def test_gate_off_and_a_bad_gate(speech_file, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert main(["convert", str(speech_file), str(out), "--emotion", "sad", "--gate", "off"]) == 0
    assert "gate off" in capsys.readouterr().out
    assert main(["convert", str(speech_file), str(out), "--emotion", "sad", "--gate", "5"]) != 0
    assert "gate" in capsys.readouterr().err


# -- rates, memory, progress -----------------------------------------------------------------

@pytest.mark.parametrize("rate", [1, 100, 1_000_000])
def test_an_unsupported_rate_is_refused_at_once(rate, tmp_path):
    path = tmp_path / f"rate{rate}.wav"
    soundfile.write(path, np.zeros(max(rate, 8)), rate)
    began = time.monotonic()
    result = _convert(str(path), str(tmp_path / "out.wav"), "--emotion", "happy", timeout=60)
    assert result.returncode == 1
    error = result.stderr.strip()
    assert error.startswith("rtconvert: error:") and f"{rate} Hz" in error and "\n" not in error
    assert time.monotonic() - began < 30


def test_long_files_show_progress(speech_file, tmp_path, capsys):
    samples, rate = soundfile.read(speech_file)
    long = tmp_path / "long.wav"
    soundfile.write(long, np.tile(samples, int(np.ceil(12 * rate / len(samples)))), rate)
    assert main(["convert", str(long), str(tmp_path / "out.wav"), "--emotion", "calm"]) == 0
    assert "%|" in capsys.readouterr().err  # tqdm's bar


@pytest.mark.slow
def test_a_10_minute_file_converts_in_bounded_memory(speech_file, tmp_path):
    samples = load_audio(speech_file, 24000).samples
    long = tmp_path / "ten-minutes.wav"
    with soundfile.SoundFile(long, "w", 24000, 1, "PCM_16") as file:
        for _ in range(int(np.ceil(600 * 24000 / len(samples)))):
            file.write(0.5 * samples)
    out = tmp_path / "out.wav"
    wrapper = ("import os, subprocess, sys, resource\n"
               "code = subprocess.run(sys.argv[1:]).returncode\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
               "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", wrapper, *RTCONVERT, "convert", str(long),
                             str(out), "--emotion", "happy"], check=False, capture_output=True,
                            text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=3600)
    assert result.returncode == 0, result.stderr[-2000:]
    peak_mb = int(result.stdout.strip().splitlines()[-1])
    print(f"10-minute file: peak RSS {peak_mb} MB")
    assert peak_mb < 300
    assert soundfile.info(out).frames == soundfile.info(long).frames


# -- the streaming file path equals the in-memory one -----------------------------------------

def test_streaming_from_disk_equals_the_whole_signal_in_memory(speech_file, tmp_path):
    from rtconvert.offline.fileconvert import FileGate, convert_file, convert_signal

    bundle = load_bundle()
    settings = Settings(emotion="angry", intensity=1.0, gate_db=-np.inf)
    audio = load_audio(speech_file)
    expected = convert_signal(Engine(bundle, audio.sample_rate, settings), audio.samples)
    out = tmp_path / "out.wav"
    convert_file(bundle, speech_file, out, settings, FileGate(None), block=1000,
                 subtype="DOUBLE")
    streamed, _ = soundfile.read(out)
    assert len(streamed) == len(expected)
    assert np.abs(streamed - expected).max() < 1e-9
