"""Shared fixtures: generated speech (espeak-ng), the RAVDESS corpus if present, feature caches."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    PATIENCE_S,
    RAVDESS_ROOT,
    SHARED_DATA,
    TEST_CACHE,
    pactl_answers,
    speak,
    start_jack,
    stop_jack,
    wait_for,
)

from rtconvert.config import FeatureConfig
from rtconvert.offline.audiofile import load_audio


@pytest.fixture(scope="session")
def feature_config() -> FeatureConfig:
    return FeatureConfig()


@pytest.fixture(scope="session")
def speech_file(tmp_path_factory) -> Path:
    """A few seconds of generated English speech."""
    return speak("Kids are talking by the door. Dogs are sitting by the door.",
                 tmp_path_factory.mktemp("speech") / "speech.wav")


@pytest.fixture(scope="session")
def speech(speech_file, feature_config) -> np.ndarray:
    """The generated speech at the model rate, float64 mono."""
    return load_audio(speech_file, feature_config.sample_rate).samples


@pytest.fixture(scope="module")
def jack_server():
    """A JACK dummy server for one test module, this process's default server meanwhile."""
    import os

    server = start_jack(f"rtconvert-test-{os.getpid()}")
    try:
        yield server
    finally:
        stop_jack(server)


@pytest.fixture(scope="session")
def ravdess_features(feature_config):
    """Feature cache of the whole RAVDESS corpus in ../shared/data, extracted once and reused."""
    if not RAVDESS_ROOT.is_dir():
        pytest.skip(f"RAVDESS corpus not found at {RAVDESS_ROOT}")
    from training.extract import FeatureSpec, extract
    from training.index import scan

    # EmoDB lies beside RAVDESS for evaluation only: like training, keep RAVDESS.
    utterances = [u for u in scan(SHARED_DATA)[0] if u.corpus == "RAVDESS"]
    spec = FeatureSpec(feature_config)
    report = extract(utterances, SHARED_DATA, TEST_CACHE, spec, progress=False)
    assert not report.failures
    return report.directory, utterances


@pytest.fixture(scope="session")
def espeak_corpus(tmp_path_factory) -> Path:
    """Four espeak-ng 'actors': neutral, 'happy' (higher, faster), 'sad' (lower, slower) takes."""
    from helpers import make_espeak_corpus

    return make_espeak_corpus(tmp_path_factory.mktemp("espeak-corpus"),
                              {"01": 25, "02": 55, "03": 40, "04": 70})


def tiny_overrides(root: Path, cache: Path, steps: int = 20) -> list[str]:
    """Config overrides for a model small enough to train in seconds."""
    return [f"data.root={root}", f"data.cache={cache}", "data.valid_speakers=[RAVDESS_04]",
            "data.dev_speakers=[RAVDESS_03]", "data.speeds=[1.0]",
            "data.rooms=[1]", "data.speaker_mcep=true",
            "generator_params.channels=16", "generator_params.dilations=[1, 2]",
            "classifier_params.channels=8", "classifier_params.n_layers=2",
            "discriminator_params.channels=8", "discriminator_params.n_layers=2",
            "loss.lambda_adversarial=0.1",
            f"train.steps={steps}", "train.batch_size=4", "train.segment_frames=32",
            "train.classifier_steps=5", "train.log_every=5", "train.checkpoint_every=10",
            "train.validate_every=10", "train.threads=1"]


@pytest.fixture(scope="session")
def tiny_run(espeak_corpus, tmp_path_factory) -> Path:
    """A run folder of a tiny generator trained for 20 steps on the espeak corpus."""
    from training.train import main

    run_dir = tmp_path_factory.mktemp("tiny-run")
    assert main(["--run-dir", str(run_dir), "--no-progress", "--set",
                 *tiny_overrides(espeak_corpus, run_dir / "cache")]) == 0
    return run_dir


@pytest.fixture(scope="session")
def tiny_bundle(tiny_run, tmp_path_factory) -> Path:
    """The tiny run exported for real: ONNX graph + metadata."""
    from export.onnx_export import export_run

    path, _ = export_run(tiny_run, tmp_path_factory.mktemp("bundles") / "tiny")
    return path


@pytest.fixture(scope="module")
def pipewire(tmp_path_factory):
    """A PipeWire with its PulseAudio server and session manager, on a D-Bus session of its
    own, in a runtime folder of its own; this process and its children talk to it."""
    runtime = tmp_path_factory.mktemp("xdg-runtime")
    runtime.chmod(0o700)
    bus = runtime / "bus"
    # Nothing that would point a client at the user's own servers.
    saved = {key: os.environ.get(key) for key in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS",
                                                   "PULSE_SERVER", "PULSE_RUNTIME_PATH",
                                                   "PIPEWIRE_RUNTIME_DIR", "PIPEWIRE_REMOTE")}
    for key in saved:
        os.environ.pop(key, None)
    os.environ.update(XDG_RUNTIME_DIR=str(runtime), DBUS_SESSION_BUS_ADDRESS=f"unix:path={bus}")
    log = open(runtime / "servers.log", "w")
    started = []

    def start(*command: str) -> None:
        started.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))

    try:
        start("dbus-daemon", "--session", "--nofork", f"--address=unix:path={bus}")
        assert wait_for(bus.exists), "dbus-daemon did not start"
        start("pipewire")
        assert wait_for((runtime / "pipewire-0").exists), "pipewire did not start"
        start("wireplumber")
        start("pipewire-pulse")
        # pactl before the server's socket exists would race it for the pulse/ folder.
        assert wait_for((runtime / "pulse" / "native").exists) and wait_for(pactl_answers), \
            (runtime / "servers.log").read_text()[-2000:]
        yield runtime
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(PATIENCE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
