"""The speaker-relative log-F0 shift."""

import math
from dataclasses import astuple, replace

import numpy as np
import pytest

from rtconvert.bundle import default_bundle_path, load_bundle
from rtconvert.engine.prosody import (
    MAX_ENERGY_SHIFT_DB,
    LogF0Stats,
    ProsodyShifter,
    log_f0_stats,
    shift_at,
    shift_log_f0,
)


@pytest.fixture
def contour():
    rng = np.random.default_rng(0)
    lf0 = np.log(120.0) + 0.1 * rng.standard_normal(500)
    voiced = rng.random(500) > 0.3
    return lf0, voiced


def test_no_shift_is_the_identity(contour):
    lf0, voiced = contour
    stats = log_f0_stats(lf0[voiced])
    np.testing.assert_allclose(shift_log_f0(lf0, voiced, stats, 0.0, 1.0), lf0, rtol=0,
                               atol=1e-12)


@pytest.mark.parametrize(("delta", "ratio"), [(0.4, 1.5), (-0.2, 0.8), (0.1, 1.0)])
def test_shift_moves_mean_and_scales_spread(contour, delta, ratio):
    lf0, voiced = contour
    stats = log_f0_stats(lf0[voiced])
    out = shift_log_f0(lf0, voiced, stats, delta, ratio)
    after = log_f0_stats(out[voiced])
    assert after.mean == pytest.approx(stats.mean + delta)
    assert after.std == pytest.approx(stats.std * ratio)
    np.testing.assert_array_equal(out[~voiced], lf0[~voiced])


def test_statistics_of_voiced_values_and_too_few_frames():
    assert log_f0_stats(np.array([4.0, 6.0])) == LogF0Stats(5.0, 1.0, 2)
    stats = log_f0_stats(np.array([4.0]))
    assert np.isnan(stats.mean) and np.isnan(stats.std) and stats.n_frames == 1
    # NaN statistics leave nothing to shift from: voiced frames become NaN, never a number
    # that looks valid, and unvoiced frames pass.
    out = shift_log_f0(np.array([4.0, 5.0]), np.array([True, False]), stats, 0.2, 1.1)
    assert np.isnan(out[0]) and out[1] == 5.0


def _shift(shifter: ProsodyShifter, emotion: str, intensity: float) -> tuple[float, ...]:
    return astuple(shift_at(shifter.anchors[emotion], intensity))


def _measured(bundle, emotion: str, name: str) -> tuple[float, ...]:
    s = bundle.prosody[emotion][name]
    return (s.delta_lf0, math.log(s.sigma_ratio),
            float(np.clip(s.delta_c0_db, -MAX_ENERGY_SHIFT_DB, MAX_ENERGY_SHIFT_DB)))


@pytest.mark.parametrize("profile", ["balanced", "low"])
def test_the_bundles_intensity_scale_places_the_measured_shifts(profile):
    """The runtime reaches each measured shift at the intensity the bundle's
    ``intensity_scale`` (the training config's) gives its corpus intensity, wherever that is."""
    bundle = load_bundle(default_bundle_path(profile))
    moved = replace(bundle, intensity_scale={name: 0.5 * value
                                             for name, value in bundle.intensity_scale.items()})
    for candidate in (bundle, moved):
        shifter = ProsodyShifter.from_bundle(candidate)
        for emotion in candidate.emotions:
            for name, intensity in candidate.intensity_scale.items():
                expected = _measured(candidate, emotion, name)
                assert _shift(shifter, emotion, intensity) == pytest.approx(expected), (
                    emotion, name)
    # Half-way to the weakest anchor, half its shift (piecewise linear from none at 0).
    shifter = ProsodyShifter.from_bundle(moved)
    weakest = min(moved.intensity_scale, key=moved.intensity_scale.get)
    half = _shift(shifter, "happy", moved.intensity_scale[weakest] / 2)
    assert half[0] == pytest.approx(_measured(moved, "happy", weakest)[0] / 2)
