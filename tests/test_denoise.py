"""The front end's noise suppression: aligned with its input, exactly its latency, block-free."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from rtconvert.bundle import load_bundle
from rtconvert.dsp.denoise import Denoiser, denoise_whole, stream_denoiser
from rtconvert.engine.engine import Engine
from rtconvert.offline.fileconvert import convert_signal
from rtconvert.profiles import PROFILES
from rtconvert.settings import Settings


def noisy(speech: np.ndarray, snr_db: float = 15.0, seed: int = 0) -> tuple[np.ndarray, float]:
    """``speech`` in white noise ``snr_db`` under its level, and the noise's RMS."""
    clean = 0.1 * speech / np.sqrt(np.mean(speech ** 2))
    noise_rms = 0.1 * 10 ** (-snr_db / 20)
    return clean + np.random.default_rng(seed).normal(0, noise_rms, len(clean)), noise_rms


def test_the_output_is_the_input_denoised_at_the_same_time(speech, feature_config):
    """Sample i out is sample i in: no lag against the clean speech; the noise-only lead-in
    loses at least 6 dB, the speech keeps its level within 1 dB."""
    rate = feature_config.sample_rate
    speech = np.concatenate([np.zeros(rate // 2), speech])
    signal, noise_rms = noisy(speech)
    clean = 0.1 * speech / np.sqrt(np.mean(speech ** 2))
    out = denoise_whole(signal, Denoiser(rate))
    assert len(out) == len(signal)
    window = slice(rate, len(signal) - rate)
    lags = np.arange(-200, 201)
    correlation = [np.dot(out[window], np.roll(clean, lag)[window]) for lag in lags]
    assert lags[int(np.argmax(correlation))] == 0
    lead_in = slice(rate // 10, rate // 2 - rate // 10)  # noise only, past the start-up
    reduction = 20 * np.log10(noise_rms / np.sqrt(np.mean(out[lead_in] ** 2)))
    assert reduction > 6, reduction
    speech_part = slice(rate // 2, len(signal))
    kept = 20 * np.log10(np.sqrt(np.mean(out[speech_part] ** 2))
                         / np.sqrt(np.mean(clean[speech_part] ** 2)))
    assert abs(kept) < 1.0, kept


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_step_waits_exactly_the_latency_for_its_samples(profile, feature_config):
    """Fed one sample at a time, the samples a step needs are out exactly ``latency_samples``
    after they went in: not later (the engine's delay would be short), not earlier (the
    latency would be overstated)."""
    frames, lookahead = PROFILES[profile].geometry(feature_config)
    denoiser = stream_denoiser(feature_config, frames, lookahead)
    hop = feature_config.hop_length
    signal = 0.01 * np.random.default_rng(1).standard_normal(8000)
    produced, total = [], 0
    for sample in signal:
        total += len(denoiser.process(sample[None]))
        produced.append(total)
    produced = np.array(produced)  # after i + 1 samples in
    first = (frames - 1 + lookahead) * hop + 1  # the analysis's first step needs these
    for needed in range(first + 2 * frames * hop, 7000, frames * hop):
        waited = int(np.argmax(produced >= needed)) + 1 - needed
        assert waited == denoiser.latency_samples, (needed, waited)


def test_the_engine_with_it_is_block_size_free_and_its_delay_grows_by_its_latency(
        speech, feature_config):
    bundle = load_bundle()
    rate = 48000
    signal = soxr.resample(noisy(speech)[0], feature_config.sample_rate, rate, "HQ")[:rate]
    settings = Settings(emotion="angry", intensity=1.0)
    whole = convert_signal(Engine(bundle, rate, settings, denoise=True), signal)
    for block in (1, 256, 1000):
        engine = Engine(bundle, rate, settings, denoise=True)
        streamed = convert_signal(engine, signal, block)
        assert np.array_equal(streamed, whole), block
        assert engine.missing_samples == 0
    plain = Engine(bundle, rate, settings)
    added = engine.delay_s - plain.delay_s
    latency = engine.denoiser.latency_samples / feature_config.sample_rate
    assert added == pytest.approx(latency, abs=2 / rate)  # rounded to the device's samples
    assert 0.008 < latency < 0.009 and plain.denoiser is None and not bundle.denoise
