"""Reading audio files: formats, channels, rates and every kind of bad file."""

import numpy as np
import pytest
import soundfile

from rtconvert.errors import AudioFileError
from rtconvert.offline.audiofile import check_finite, load_audio, write_audio


def test_stereo_is_downmixed_and_rate_converted(tmp_path):
    t = np.arange(44100) / 44100
    left, right = np.sin(2 * np.pi * 220 * t), np.zeros_like(t)
    soundfile.write(str(tmp_path / "stereo.wav"), np.stack([left, right], 1) * 0.5, 44100)
    audio = load_audio(tmp_path / "stereo.wav", 24000)
    assert audio.n_channels == 2 and audio.source_rate == 44100 and audio.sample_rate == 24000
    assert audio.samples.dtype == np.float64 and audio.samples.ndim == 1
    assert abs(len(audio.samples) - 24000) <= 1
    assert np.max(np.abs(audio.samples[1000:-1000])) == pytest.approx(0.25, rel=0.02)


def test_keeps_rate_when_not_asked(tmp_path):
    soundfile.write(str(tmp_path / "a.flac"), np.zeros(800), 8000)
    assert load_audio(tmp_path / "a.flac").sample_rate == 8000


@pytest.mark.parametrize("content, message", [
    (b"", "cannot decode"),
    (b"RIFF\x00\x00\x00\x00WAVEjunkjunk", "cannot decode"),
    (b"\x00" * 1000, "cannot decode"),
])
def test_corrupt_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=f"bad.wav: {message}"):
        load_audio(path)


def test_missing_file(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        load_audio(tmp_path / "absent.wav")


def test_empty_audio(tmp_path):
    soundfile.write(str(tmp_path / "empty.wav"), np.zeros(0), 16000)
    with pytest.raises(AudioFileError, match="empty.wav: the file holds no samples"):
        load_audio(tmp_path / "empty.wav")


def test_nan_samples(tmp_path):
    samples = np.zeros(1000, dtype=np.float32)
    samples[123] = np.nan
    soundfile.write(str(tmp_path / "nan.wav"), samples, 16000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="nan.wav: 1 non-finite .* at sample 123"):
        load_audio(tmp_path / "nan.wav")


def test_check_finite_accepts_clean_signal():
    check_finite(np.zeros(10), "x")


def test_write_round_trip(tmp_path):
    samples = 0.5 * np.sin(np.arange(2400) * 0.1)
    write_audio(tmp_path / "out.wav", samples, 24000)
    back = load_audio(tmp_path / "out.wav")
    assert back.sample_rate == 24000
    np.testing.assert_allclose(back.samples, samples, atol=1e-6)
