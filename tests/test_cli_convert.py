"""``rtconvert convert`` and ``rtconvert bench`` as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from rtconvert.cli.commands import main


def test_convert_writes_the_input_rate_and_says_it_downmixed(speech_file, tmp_path, capsys):
    samples, rate = soundfile.read(speech_file)
    stereo = tmp_path / "stereo.flac"
    soundfile.write(stereo, np.stack([samples, samples], axis=1), rate)
    out = tmp_path / "happy.wav"
    assert main(["convert", str(stereo), str(out), "--emotion", "happy", "--intensity", "1",
                 "--block", "512"]) == 0
    assert "2 channels, downmixed to mono" in capsys.readouterr().out
    converted, out_rate = soundfile.read(out)
    assert out_rate == rate and len(converted) == len(samples)
    assert np.abs(converted).max() > 0.01


def test_convert_takes_a_mixture(speech_file, tmp_path, capsys):
    out = tmp_path / "mix.wav"
    assert main(["convert", str(speech_file), str(out), "--emotion", "happy=0.5,surprised=0.5",
                 "--intensity", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: happy=0.5,surprised=0.5 at")
    assert np.abs(soundfile.read(out)[0]).max() > 0.01


def test_convert_suppresses_noise_when_asked(speech, feature_config, tmp_path, capsys):
    """Speech after half a second of noise alone (20 dB under it): with --denoise on, the
    converted noise in that half second comes out at least 3 dB quieter."""
    rate = feature_config.sample_rate
    clean = np.concatenate([np.zeros(rate // 2), 0.1 * speech / np.abs(speech).max()])
    noise = np.random.default_rng(0).normal(0, 0.1 * 10 ** (-20 / 20) / 3, len(clean))
    noisy = tmp_path / "noisy.wav"
    soundfile.write(noisy, clean + noise, rate, subtype="FLOAT")
    outs = {value: tmp_path / f"{value}.wav" for value in ("on", "off")}
    for value, out in outs.items():
        assert main(["convert", str(noisy), str(out), "--emotion", "sad", "--intensity", "1",
                     "--denoise", value]) == 0
    on, off = (soundfile.read(out)[0] for out in outs.values())
    lead = slice(rate // 10, rate // 2 - rate // 20)
    quieter = 20 * np.log10(np.std(off[lead]) / np.std(on[lead]))
    assert len(on) == len(off) and quieter > 3, quieter
    with pytest.raises(SystemExit) as stop:
        main(["convert", str(noisy), str(tmp_path / "x.wav"), "--denoise", "maybe"])
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "--denoise: 'maybe' is neither 'on' nor 'off'" in error and "\n" not in error


@pytest.mark.parametrize("args, message", [
    (["missing.wav", "out.wav", "--emotion", "happy"], "no such file"),
    (["corrupt.wav", "out.wav", "--emotion", "happy"], "cannot decode audio"),
    (["SPEECH", "out.wav", "--emotion", "bored"], "unknown emotion 'bored'"),
    (["SPEECH", "out.wav", "--emotion", "happy=0.5,sad=x"], "sad: weight 'x' is not a number"),
    (["SPEECH", "out.wav", "--emotion", "sad", "--intensity", "2"],
     "intensity 2.0 is out of range"),
    (["SPEECH", "out.wav", "--emotion", "sad", "--model", "nowhere"], "no such folder"),
])
def test_convert_errors_are_one_clear_line(args, message, speech_file, tmp_path, monkeypatch,
                                           capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF not really a wave file")
    args = [str(speech_file) if a == "SPEECH" else a for a in args]
    assert main(["convert", *args]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("rtconvert: error:") and message in error and "\n" not in error
    assert not (tmp_path / "out.wav").exists()


def test_bench_reports_every_key_in_json(speech_file, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--seconds", "2", "--block", "256,1024", "--input", str(speech_file),
                 "--json", str(out)]) == 0
    runs = json.loads(out.read_text())["runs"]
    assert [r["block"] for r in runs] == [256, 1024]
    for run in runs:
        for key in ("algorithmic_latency_ms", "rtf", "block_ms_p50", "block_ms_p95", "block_ms_p99",
                    "block_ms_max", "offline_world_ratio"):
            assert run[key] > 0, key
        assert set(run["stage_shares"]) == {"analysis", "speaker", "model", "prosody", "synthesis",
                                            "resampling", "denoising"}
        assert run["stage_shares"]["denoising"] == 0  # off: the shipped model has none
        assert sum(run["stage_shares"].values()) == pytest.approx(1, abs=0.01)
        assert run["missing_samples"] == 0
    longer = runs[1]["algorithmic_latency_ms"] - runs[0]["algorithmic_latency_ms"]
    assert longer == pytest.approx(16, abs=0.01)
    assert "latency ms" in capsys.readouterr().out


@pytest.mark.parametrize("profile, model, lookahead", [
    ("balanced", "default", "lookahead 2 frames,"), ("low", "low", "lookahead 1 frame,")])
def test_info_describes_each_shipped_model(profile, model, lookahead, capsys):
    from rtconvert.bundle import default_bundle_path

    assert main(["info", "--model", str(default_bundle_path(profile))]) == 0
    out = capsys.readouterr().out
    assert f"model      {model} (" in out
    assert "emotions   neutral, calm, happy, sad, angry, fearful, disgust, surprised" in out
    assert f"{lookahead} trained for the {profile} latency profile" in out
    assert "CC BY-NC-SA 4.0" in out
