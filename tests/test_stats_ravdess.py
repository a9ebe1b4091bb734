"""Statistics of the real RAVDESS corpus show what is known of acted emotional speech."""

import pytest
from helpers import needs_ravdess

from training.stats import compute_statistics

pytestmark = [needs_ravdess, pytest.mark.shared_data]

RAISED = ("happy", "angry", "fearful", "surprised")
EMOTIONS = ("calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


@pytest.fixture(scope="module")
def stats(ravdess_features):
    directory, utterances = ravdess_features
    return compute_statistics(directory, utterances)


def test_every_emotion_has_every_speaker(stats):
    assert len(stats["speakers"]) == 20
    for emotion in EMOTIONS:
        for intensity in ("normal", "strong"):
            entry = stats["prosody"][emotion][intensity]
            assert entry["n_speakers"] == 20
            assert all(s["n_utterances"] == 4 for s in entry["per_speaker"].values())


@pytest.mark.parametrize("emotion", RAISED)
def test_strong_emotions_raise_and_widen_f0(stats, emotion):
    strong = stats["prosody"][emotion]["strong"]
    assert strong["delta_cents"] > 300
    assert strong["sigma_ratio"] > 1.0


@pytest.mark.parametrize("emotion", [e for e in EMOTIONS if e != "calm"])
def test_strong_exceeds_normal(stats, emotion):
    by_intensity = stats["prosody"][emotion]
    assert by_intensity["strong"]["delta_cents"] > by_intensity["normal"]["delta_cents"]


def test_calm_stays_near_neutral(stats):
    for intensity in ("normal", "strong"):
        assert abs(stats["prosody"]["calm"][intensity]["delta_cents"]) < 100


def test_strong_sadness_is_tearful_and_raised(stats):
    assert 300 < stats["prosody"]["sad"]["strong"]["delta_cents"] < 900
