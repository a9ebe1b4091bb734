"""The emotion judge: per-speaker z-scoring, grouped CV, openSMILE features and their cache."""

import numpy as np
import pytest

from training.evaluation.conversions import probe_signal
from training.evaluation.judge import (
    CLASSES,
    FunctionalsCache,
    JudgeConfig,
    audio_key,
    fit_judge,
    grouped_cv_accuracy,
    load_judge,
    save_judge,
    zscore_by_group,
)

RATE = 24000
ONE_SET = JudgeConfig(feature_sets=(("egemaps",),), c_values=(0.1, 1.0), n_folds=3)


def synthetic_speakers(n_speakers: int = 6, n_takes: int = 4, offset_scale: float = 0.0,
                       seed: int = 0):
    """Rows of 8 well-separated classes; each speaker adds its own offset to every feature."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((len(CLASSES), 10))
    x, labels, speakers = [], [], []
    for s in range(n_speakers):
        offset = offset_scale * rng.standard_normal(10)
        for c, label in enumerate(CLASSES):
            for _ in range(n_takes):
                x.append(centres[c] + offset + 0.5 * rng.standard_normal(10))
                labels.append(label)
                speakers.append(f"S{s}")
    return np.array(x), labels, speakers


def test_zscore_by_group_removes_a_per_speaker_offset():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((20, 5))
    x = np.concatenate([base + 100.0, base * 1.0 - 7.0])
    z = zscore_by_group(x, ["a"] * 20 + ["b"] * 20)
    np.testing.assert_allclose(z[:20], z[20:], atol=1e-9)
    np.testing.assert_allclose(z[:20].mean(0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z[:20].std(0), 1.0, atol=1e-9)


def test_zscore_guards_constant_and_missing_features():
    x = np.array([[1.0, 5.0, np.nan], [2.0, 5.0, np.nan], [3.0, 5.0, np.nan]])
    z = zscore_by_group(x, [("spk", "system")] * 3)
    assert np.isfinite(z).all()
    np.testing.assert_array_equal(z[:, 1:], 0.0)
    # A set of identical outputs (the unchanged input eight times) is all zeros.
    assert not zscore_by_group(np.ones((8, 3)) * 4.2, ["s"] * 8).any()


def test_judge_separates_classes_on_unseen_speakers():
    x, labels, speakers = synthetic_speakers()
    judge = fit_judge({"egemaps": x}, labels, speakers, speakers, ONE_SET)
    assert judge.cv_accuracy > 0.95
    assert {row["c"] for row in judge.cv_table} == {0.1, 1.0}
    p = judge.probabilities({"egemaps": x}, speakers)
    assert p.shape == (len(x), len(CLASSES))
    np.testing.assert_allclose(p.sum(1), 1.0)
    assert np.mean(np.array(CLASSES)[p.argmax(1)] == np.array(labels)) > 0.95


def test_per_speaker_zscores_let_the_judge_generalise_across_speakers():
    x, labels, speakers = synthetic_speakers(offset_scale=6.0, seed=2)
    raw = grouped_cv_accuracy(x, labels, speakers, c=1.0, n_folds=3)
    z = grouped_cv_accuracy(zscore_by_group(x, speakers), labels, speakers, c=1.0, n_folds=3)
    assert z > 0.9 and z > raw + 0.2


def test_cv_scores_only_the_rows_asked_for():
    x, labels, speakers = synthetic_speakers(n_speakers=4)
    labels = np.array(labels)
    x[labels == "calm"] = x[labels == "neutral"]  # two classes the judge cannot tell apart
    twins = np.isin(labels, ("calm", "neutral"))
    on_twins = grouped_cv_accuracy(x, labels, speakers, c=1.0, n_folds=2, score_rows=twins)
    on_rest = grouped_cv_accuracy(x, labels, speakers, c=1.0, n_folds=2, score_rows=~twins)
    assert on_twins < 0.75 and on_rest > 0.95


def test_probabilities_follow_classes_when_some_were_never_seen(tmp_path):
    x, labels, speakers = synthetic_speakers(n_speakers=3)
    keep = [i for i, label in enumerate(labels) if label in ("neutral", "angry", "sad")]
    x, labels, speakers = x[keep], [labels[i] for i in keep], [speakers[i] for i in keep]
    judge = fit_judge({"egemaps": x}, labels, speakers, speakers, ONE_SET)
    save_judge(judge, tmp_path / "judge.joblib")
    loaded = load_judge(tmp_path / "judge.joblib")
    p = loaded.probabilities({"egemaps": x}, speakers)
    np.testing.assert_allclose(p, judge.probabilities({"egemaps": x}, speakers))
    unseen = [CLASSES.index(c) for c in CLASSES if c not in ("neutral", "angry", "sad")]
    assert not p[:, unseen].any()
    assert np.array(CLASSES)[p[labels.index("angry")].argmax()] == "angry"


@pytest.mark.parametrize("feature_set, n_features", [("egemaps", 88), ("compare", 6373)])
def test_functionals_are_cached_by_audio_content(tmp_path, feature_set, n_features):
    cache = FunctionalsCache(tmp_path)
    vowel = probe_signal(RATE)
    values = cache.get(vowel, RATE, feature_set)
    assert values.shape == (n_features,) and np.isfinite(values).mean() > 0.99
    key = audio_key(vowel, RATE, feature_set)
    path = tmp_path / feature_set / key[:2] / f"{key}.npy"
    assert path.is_file()
    np.save(path, np.full(n_features, 7.0))  # a second call must read the file, not recompute
    assert (cache.get(vowel, RATE, feature_set) == 7.0).all()
    assert audio_key(0.5 * vowel, RATE, feature_set) != key
    assert audio_key(vowel, RATE, "egemaps" if feature_set == "compare" else "compare") != key


def test_config_rejects_unknown_feature_sets():
    with pytest.raises(ValueError, match="mfcc"):
        JudgeConfig(feature_sets=(("mfcc",),))
