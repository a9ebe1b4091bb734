"""Streaming WORLD synthesis against pyworld's, and its block-size invariance."""

import numpy as np
import pytest

from rtconvert.dsp.features import analyze, synthesize
from rtconvert.dsp.synthesis import StreamingSynthesizer, minimum_phase_spectra


@pytest.fixture(scope="module")
def features(speech, feature_config):
    return analyze(speech, feature_config)


@pytest.mark.parametrize("frames_per_call", [1, 2, 7])
def test_streaming_equals_one_call(features, feature_config, frames_per_call):
    whole = StreamingSynthesizer(feature_config).process(features.f0_hz, features.mcep,
                                                         features.bap)
    synthesizer, pieces = StreamingSynthesizer(feature_config), []
    for start in range(0, features.n_frames, frames_per_call):
        part = features.slice(start, start + frames_per_call)
        pieces.append(synthesizer.process(part.f0_hz, part.mcep, part.bap))
    streamed = np.concatenate(pieces)
    assert len(streamed) == len(whole) == (features.n_frames - 1) * feature_config.hop_length
    # Equal up to where a noise segment split at a call boundary wraps differently.
    snr_db = 10 * np.log10(np.sum(whole ** 2) / np.sum((streamed - whole) ** 2))
    assert snr_db > 40


def test_matches_pyworld_synthesis(features, feature_config, speech):
    ours = StreamingSynthesizer(feature_config).process(features.f0_hz, features.mcep,
                                                        features.bap)
    reference = synthesize(features, feature_config)[:len(ours)]
    def rms(a):
        return np.sqrt(np.mean(a ** 2))

    assert rms(ours) == pytest.approx(rms(reference), rel=0.15)
    # Re-analysed, both are about as far from the analysed features.
    def distance(audio):
        again = analyze(audio, feature_config)
        n = min(again.n_frames, features.n_frames)
        loud = features.mcep[:n, 0] > np.percentile(features.mcep[:, 0], 50)
        return np.mean(np.sqrt(2 * np.sum((again.mcep[:n, 1:] - features.mcep[:n, 1:]) ** 2,
                                          1))[loud])

    assert distance(ours) < 1.3 * distance(reference)


def test_minimum_phase_keeps_the_magnitude():
    power = np.abs(np.random.default_rng(0).standard_normal((3, 513))) + 0.1
    spectra = minimum_phase_spectra(power, 1024)
    np.testing.assert_allclose(np.abs(spectra) ** 2, power, rtol=1e-6)
