"""Evaluation helpers: the classifier, the distortion measures, and the shipped model."""

import numpy as np
import pytest

from rtconvert.bundle import default_bundle_path, load_bundle
from rtconvert.features import WorldFeatures
from training.evaluate import SoftmaxClassifier, compare


def test_softmax_classifier_separates_classes():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (50, 3)), rng.normal(3, 1, (50, 3))])
    labels = ["calm"] * 50 + ["angry"] * 50
    classifier = SoftmaxClassifier().fit(x, labels, steps=300)
    accuracy = np.mean([p == l for p, l in zip(classifier.predict(x), labels)])
    assert accuracy > 0.95


def test_identical_features_have_zero_distortion():
    rng = np.random.default_rng(1)
    features = WorldFeatures(np.where(rng.random(80) > 0.3, 120.0, 0.0),
                             rng.standard_normal((80, 36)), np.zeros((80, 3)))
    mcd, rmse = compare(features, features)
    assert mcd == pytest.approx(0.0) and rmse == pytest.approx(0.0)
    raised = WorldFeatures(features.f0_hz * 2 ** (100 / 1200), features.mcep, features.bap)
    assert compare(raised, features)[1] == pytest.approx(100.0)


@pytest.mark.skipif(not (default_bundle_path() / "model.onnx").is_file(),
                    reason="no default model shipped yet")
def test_default_bundle_is_valid_and_small():
    bundle = load_bundle()
    size = sum(f.stat().st_size for f in bundle.path.iterdir())
    assert size < 10e6
    assert "CC BY-NC-SA 4.0" in bundle.licence
    assert set(bundle.metadata["training"]["valid_speakers"]).isdisjoint(
        bundle.metadata["training"]["speakers"])
