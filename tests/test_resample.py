"""Streaming resampling: block-size invariance, known delay, passband gain."""

import numpy as np
import pytest

from rtconvert.dsp.resample import StreamResampler


def _stream(resampler, x, seed=0):
    rng, out, start = np.random.default_rng(seed), [], 0
    while start < len(x):
        n = int(rng.integers(1, 700))
        out.append(resampler.process(x[start:start + n]))
        start += n
    return np.concatenate(out)


@pytest.mark.parametrize("in_rate, out_rate", [(48000, 24000), (24000, 48000), (44100, 24000),
                                               (24000, 44100), (16000, 24000), (24000, 24000)])
def test_blocks_do_not_matter_and_delay_is_as_reported(in_rate, out_rate):
    x = np.zeros(in_rate)
    x[in_rate // 2] = 1.0
    streamed = _stream(StreamResampler(in_rate, out_rate), x)
    whole = StreamResampler(in_rate, out_rate).process(x)
    n = min(len(streamed), len(whole))
    np.testing.assert_allclose(streamed[:n], whole[:n], atol=1e-12)
    resampler = StreamResampler(in_rate, out_rate)
    peak = np.argmax(streamed) - (in_rate // 2) * out_rate / in_rate
    assert abs(peak - resampler.delay_s * out_rate) <= 1.0


@pytest.mark.parametrize("in_rate, out_rate", [(48000, 24000), (24000, 48000)])
def test_speech_band_passes_at_unit_gain(in_rate, out_rate):
    t = np.arange(in_rate) / in_rate
    y = StreamResampler(in_rate, out_rate).process(np.sin(2 * np.pi * 1000 * t))
    assert np.abs(y[len(y) // 4: -len(y) // 4]).max() == pytest.approx(1.0, abs=0.02)


def test_alias_band_is_suppressed():
    t = np.arange(48000) / 48000
    y = StreamResampler(48000, 24000).process(np.sin(2 * np.pi * 18000 * t))
    assert np.abs(y[6000:-6000]).max() < 0.01  # 18 kHz would fold to 6 kHz
