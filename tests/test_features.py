"""WORLD analysis and synthesis: shapes, round trips, windows, and bad signals."""

import numpy as np
import pytest

from rtconvert.config import FeatureConfig
from rtconvert.dsp.analysis import analyze_stream, aperiodicity_frames
from rtconvert.dsp.features import (
    FeatureError,
    analyze,
    decode_envelope,
    encode_envelope,
    estimate_f0,
    features_at,
    spectral_envelope,
    synthesize,
)
from rtconvert.errors import ConfigError


def test_analysis_shapes_and_voicing(speech, feature_config):
    features = analyze(speech, feature_config)
    n_frames = len(speech) // feature_config.hop_length + 1
    assert features.f0_hz.shape == (n_frames,)
    assert features.mcep.shape == (n_frames, feature_config.n_mcep)
    assert features.bap.shape == (n_frames, feature_config.n_bap)
    voiced = features.f0_hz[features.f0_hz > 0]
    assert 0.3 < len(voiced) / n_frames < 0.95
    assert 60 < np.median(voiced) < 200  # espeak's default male voice
    assert np.isfinite(features.mcep).all() and np.isfinite(features.bap).all()


def test_envelope_coding_round_trip(speech, feature_config):
    f0, times = estimate_f0(speech, feature_config)
    envelope = spectral_envelope(speech, f0, times, feature_config)
    decoded = decode_envelope(encode_envelope(envelope, feature_config), feature_config)
    distance_db = np.sqrt(np.mean((10 * np.log10(envelope / decoded)) ** 2, axis=1))
    assert np.mean(distance_db) < 5.0  # espeak's buzzy spectra; ~3 dB on real speech


def test_resynthesis_keeps_the_spectrum(speech, feature_config):
    features = analyze(speech, feature_config)
    resynthesized = synthesize(features, feature_config)
    assert abs(len(resynthesized) - len(speech)) <= feature_config.hop_length
    again = analyze(resynthesized[: len(speech)], feature_config)
    n = min(again.n_frames, features.n_frames)
    loud = features.mcep[:n, 0] > np.percentile(features.mcep[:, 0], 50)

    def distance(a, b):
        return np.mean(np.sqrt(2 * np.sum((a[:, 1:] - b[:, 1:]) ** 2, 1))[loud[:len(a)]])

    # Resynthesis must stay closer to the original than the original is to itself 50 ms
    # later (another sound): 0.66 here with espeak's buzzy source, 0.33 on RAVDESS speech.
    assert distance(again.mcep[:n], features.mcep[:n]) < 0.75 * distance(
        features.mcep[10:n], features.mcep[:n - 10])


def test_window_analysis_equals_whole_signal_inside_the_window(speech, feature_config):
    """Frames inside a frame-aligned window come out as from the whole signal.

    Not bit-exact: CheapTrick and D4C add tiny random noise, which matters only in
    digital silence (left out here) and by ~1e-3 elsewhere.
    """
    whole = analyze(speech, feature_config)
    hop = feature_config.hop_length
    first, n = 60, 40
    window = speech[(first - 20) * hop:(first + n + 20) * hop]
    times_s = np.arange(20, 20 + n) * feature_config.frame_period_ms / 1000
    part = features_at(window, whole.f0_hz[first:first + n], times_s, feature_config)
    sound = whole.mcep[first:first + n, 0] > -30
    assert sound.sum() > n // 2
    np.testing.assert_allclose(part.mcep[sound], whole.mcep[first:first + n][sound], atol=0.02)
    np.testing.assert_allclose(part.bap[sound], whole.bap[first:first + n][sound], atol=0.5)


@pytest.mark.parametrize(("geometry", "measured"), [
    ((4, 2), [3]), ((8, 2), [3, 7]),  # the balanced profile: each group's last frame
    ((2, 1), [0]), ((4, 1), [2]),  # 5 ms of lookahead: a frame back, 10 ms ahead
    ((1, 1), [0]),  # a one-frame step has no earlier frame
])
def test_d4c_measures_frames_with_10_ms_of_real_signal_ahead(speech, feature_config, geometry,
                                                              measured):
    assert aperiodicity_frames(*geometry, feature_config).tolist() == measured
    if geometry == (2, 1):  # after the measured frame its value holds: nothing newer is known
        bap = analyze_stream(speech, feature_config, *geometry).bap
        n = len(bap) // 2 * 2
        np.testing.assert_array_equal(bap[1:n:2], bap[0:n:2])


def test_silence_is_all_unvoiced_and_finite(feature_config):
    features = analyze(np.zeros(feature_config.sample_rate), feature_config)
    assert not features.f0_hz.any()
    assert np.isfinite(features.mcep).all() and np.isfinite(features.bap).all()


def test_too_short_signal(feature_config):
    with pytest.raises(FeatureError, match="too short: 0.004 s"):
        analyze(np.zeros(100), feature_config)


def test_two_dimensional_signal_is_refused(feature_config):
    with pytest.raises(FeatureError, match="mono"):
        analyze(np.zeros((4800, 2)), feature_config)


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000])
def test_other_rates(rate):
    config = FeatureConfig(sample_rate=rate, frame_period_ms=5.0 if rate % 200 == 0 else 20.0)
    t = np.arange(rate) / rate
    features = analyze(0.3 * np.sign(np.sin(2 * np.pi * 150 * t)), config)
    assert features.bap.shape[1] == config.n_bap
    assert np.median(features.f0_hz[features.f0_hz > 0]) == pytest.approx(150, rel=0.05)


@pytest.mark.parametrize("settings, field", [
    ({"sample_rate": 4000}, "sample_rate"),
    ({"frame_period_ms": 5.0, "sample_rate": 22050}, "whole number of samples"),
    ({"n_mcep": 2}, "n_mcep"),
    ({"f0_floor_hz": 500, "f0_ceil_hz": 400}, "F0 range"),
    ({"dio_speed": 0}, "dio_speed"),
])
def test_bad_feature_config(settings, field):
    with pytest.raises(ConfigError, match=field):
        FeatureConfig(**settings)


def test_config_dict_round_trip():
    config = FeatureConfig(n_mcep=24)
    assert FeatureConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown feature settings"):
        FeatureConfig.from_dict({"sample_rate": 24000, "colour": "blue"})
