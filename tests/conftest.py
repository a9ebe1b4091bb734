"""Shared fixtures: generated speech (espeak-ng), the RAVDESS corpus when present, feature caches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import RAVDESS_ROOT, SHARED_DATA, TEST_CACHE, speak
from rtconvert.audiofile import load_audio
from rtconvert.config import FeatureConfig


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


@pytest.fixture(scope="session")
def ravdess_features(feature_config):
    """Feature cache of the whole RAVDESS corpus in ../shared/data, extracted once and reused."""
    if not RAVDESS_ROOT.is_dir():
        pytest.skip(f"RAVDESS corpus not found at {RAVDESS_ROOT}")
    from training.extract import extract
    from training.index import scan

    utterances, _ = scan(SHARED_DATA)
    report = extract(utterances, SHARED_DATA, TEST_CACHE, feature_config, progress=False)
    assert not report.failures
    return report.directory, utterances
