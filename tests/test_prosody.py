"""The speaker-relative log-F0 shift."""

import numpy as np
import pytest

from rtconvert.prosody import LogF0Stats, log_f0_stats, shift_log_f0


@pytest.fixture
def contour():
    rng = np.random.default_rng(0)
    lf0 = np.log(120.0) + 0.1 * rng.standard_normal(500)
    voiced = rng.random(500) > 0.3
    return lf0, voiced


def test_intensity_zero_is_identity(contour):
    lf0, voiced = contour
    stats = log_f0_stats(lf0[voiced])
    np.testing.assert_array_equal(shift_log_f0(lf0, voiced, stats, 0.5, 1.5, 0.0), lf0)


@pytest.mark.parametrize("intensity", [0.5, 1.0, 1.5])
def test_shift_moves_mean_and_scales_spread(contour, intensity):
    lf0, voiced = contour
    stats = log_f0_stats(lf0[voiced])
    out = shift_log_f0(lf0, voiced, stats, 0.4, 1.5, intensity)
    after = log_f0_stats(out[voiced])
    assert after.mean == pytest.approx(stats.mean + intensity * 0.4)
    assert after.std == pytest.approx(stats.std * 1.5 ** intensity)
    np.testing.assert_array_equal(out[~voiced], lf0[~voiced])


def test_too_few_voiced_frames_give_nan():
    stats = log_f0_stats(np.array([4.0]))
    assert np.isnan(stats.mean) and stats.n_frames == 1
    assert isinstance(stats, LogF0Stats)
