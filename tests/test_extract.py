"""Feature extraction over a corpus folder: bad files, cache reuse, resuming, statistics."""

import json

import numpy as np
import pytest
import soundfile
from helpers import speak

from rtconvert.engine.prosody import CENTS_PER_LOG
from rtconvert.modelio import DB_PER_LOG_POWER
from rtconvert.profiles import PROFILES
from training.extract import LEVELS, FeatureSpec, extract, feature_path, load_features, main
from training.index import read_index, scan
from training.stats import compute_statistics, format_table

SENTENCES = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A tiny RAVDESS-named corpus: two espeak 'actors', neutral and a raised-pitch 'happy',
    plus one file of every kind of trouble."""
    root = tmp_path_factory.mktemp("corpus")
    for actor, base_pitch in (("01", 25), ("02", 55)):
        folder = root / "RAVDESS" / f"Actor_{actor}"
        folder.mkdir(parents=True)
        for statement, text in SENTENCES.items():
            speak(text, folder / f"03-01-01-01-{statement}-01-{actor}.wav", pitch=base_pitch)
            speak(text, folder / f"03-01-03-02-{statement}-01-{actor}.wav", pitch=base_pitch + 35)
    bad = root / "RAVDESS" / "Actor_03"
    bad.mkdir()
    (bad / "03-01-01-01-01-01-03.wav").write_bytes(b"RIFF\x00\x00garbage")  # corrupt
    soundfile.write(str(bad / "03-01-01-01-02-01-03.wav"), np.zeros(0), 24000)  # empty
    soundfile.write(str(bad / "03-01-04-01-01-01-03.wav"), np.zeros(200), 24000)  # too short
    nan = np.full(24000, 0.1, dtype=np.float32)
    nan[5] = np.nan
    soundfile.write(str(bad / "03-01-04-01-02-01-03.wav"), nan, 24000, subtype="FLOAT")
    odd = root / "RAVDESS" / "Actor_04"
    odd.mkdir()
    soundfile.write(str(odd / "03-01-01-01-01-01-04.wav"), np.zeros(24000), 24000)  # silent
    tone = 0.3 * np.sin(2 * np.pi * 180 * np.arange(44100) / 44100)
    soundfile.write(str(odd / "03-01-01-01-02-01-04.wav"), np.stack([tone, tone], 1), 44100)
    return root


def test_bad_files_are_reported_and_skipped(corpus, tmp_path, feature_config):
    utterances, _ = scan(corpus)
    spec = FeatureSpec(feature_config)
    report = extract(utterances, corpus, tmp_path, spec, workers=2, progress=False)
    assert report.n_done == 10 and report.n_cached == 0
    reasons = {line.split(": ", 1)[0].rsplit("/", 1)[1]: line for line in report.failures}
    assert sorted(reasons) == ["03-01-01-01-01-01-03.wav", "03-01-01-01-02-01-03.wav",
                               "03-01-04-01-01-01-03.wav", "03-01-04-01-02-01-03.wav"]
    assert "cannot decode" in reasons["03-01-01-01-01-01-03.wav"]
    assert "no samples" in reasons["03-01-01-01-02-01-03.wav"]
    assert "too short" in reasons["03-01-04-01-01-01-03.wav"]
    assert "non-finite" in reasons["03-01-04-01-02-01-03.wav"]
    assert len(read_index(report.directory / "index.csv")) == 10
    assert (report.directory / "failures.txt").read_text().count("\n") == 4
    silent = load_features(feature_path(report.directory, utterances[-2]))
    assert not silent.f0_hz.any()
    stereo_tone = load_features(feature_path(report.directory, utterances[-1]))
    assert np.median(stereo_tone.f0_hz[stereo_tone.f0_hz > 0]) == pytest.approx(180, rel=0.03)


def test_rerun_reuses_the_cache_and_resumes(corpus, tmp_path, feature_config):
    utterances, _ = scan(corpus)
    spec = FeatureSpec(feature_config)
    first = extract(utterances, corpus, tmp_path, spec, workers=1, progress=False)
    assert first.n_done == 10
    again = extract(utterances, corpus, tmp_path, spec, workers=1, progress=False)
    assert again.n_done == 0 and again.n_cached == 10
    # A run killed mid-file leaves only a .partial file; the next run redoes that file.
    victim = feature_path(first.directory, utterances[0])
    victim.rename(victim.with_name(victim.name + ".123.partial"))
    resumed = extract(utterances, corpus, tmp_path, spec, workers=1, progress=False)
    assert resumed.n_done == 1 and resumed.n_cached == 9 and victim.is_file()


def test_statistics_are_speaker_relative(corpus, tmp_path, feature_config):
    utterances, _ = scan(corpus)
    spec = FeatureSpec(feature_config)
    report = extract(utterances, corpus, tmp_path, spec, workers=2, progress=False)
    good = read_index(report.directory / "index.csv")
    stats = compute_statistics(report.directory, good)
    happy = stats["prosody"]["happy"]["strong"]
    assert happy["n_speakers"] == 2  # actors 01 and 02; 03 and 04 have no happy takes
    assert set(happy["per_speaker"]) == {"RAVDESS_01", "RAVDESS_02"}
    # espeak's +35 pitch step is several semitones up for both voices.
    for speaker in happy["per_speaker"].values():
        assert speaker["delta_lf0"] * CENTS_PER_LOG > 200
        assert speaker["n_utterances"] == 2
    assert happy["delta_cents"] == pytest.approx(
        np.mean([s["delta_lf0"] for s in happy["per_speaker"].values()]) * CENTS_PER_LOG)
    assert stats["lf0_prior"]["female"]["mean"] > stats["lf0_prior"]["male"]["mean"]
    assert len(stats["mcep_mean"]) == len(stats["mcep_std"]) == feature_config.n_mcep
    assert "| happy | strong |" in format_table(stats)


def test_cli(corpus, tmp_path, capsys):
    assert main(["--root", str(corpus), "--cache", str(tmp_path), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "10 extracted, 0 already cached, 4 failed" in out
    config = json.loads(next(tmp_path.glob("*/feature_config.json")).read_text())
    assert config["sample_rate"] == 24000


def test_a_speaker_level_keeps_an_emotion_louder_than_neutral(tmp_path, feature_config):
    """Per take, every take sounds equally loud; per speaker, one gain from the neutral takes
    keeps a 12 dB louder 'angry' take 12 dB louder, and analyses the neutral ones as before."""
    folder = tmp_path / "RAVDESS" / "Actor_01"
    folder.mkdir(parents=True)
    spoken = {s: soundfile.read(speak(text, tmp_path / f"{s}.wav", pitch=40))
              for s, text in SENTENCES.items()}
    for name, (speech, rate), gain in (("01-01-02-01", spoken["02"], 0.1),
                                       ("01-01-01-01", spoken["01"], 0.1),
                                       ("05-02-01-01", spoken["01"], 0.4)):  # angry: +12 dB
        soundfile.write(folder / f"03-01-{name}-01.wav", gain * speech, rate, subtype="FLOAT")
    utterances, _ = scan(tmp_path)
    geometry = PROFILES["balanced"].geometry(feature_config)
    energy = {}
    for level in LEVELS:
        spec = FeatureSpec(feature_config, geometry, level=level)
        report = extract(utterances, tmp_path, tmp_path / "cache", spec, workers=1,
                         progress=False)
        assert not report.failures
        for u in utterances:
            features = load_features(feature_path(report.directory, u))
            energy[level, u.emotion, u.sentence] = np.mean(
                features.mcep[features.f0_hz > 0, 0]) * DB_PER_LOG_POWER
    louder = {level: energy[level, "angry", "RAVDESS_01"] - energy[level, "neutral", "RAVDESS_01"]
              for level in LEVELS}
    assert abs(louder["take"]) < 1.0
    assert louder["speaker"] == pytest.approx(12.0, abs=1.0)
    # The neutral takes are heard where each take's own gain puts them, on average.
    neutral = {level: np.mean([energy[level, "neutral", f"RAVDESS_{s}"] for s in SENTENCES])
               for level in LEVELS}
    assert neutral["speaker"] == pytest.approx(neutral["take"], abs=0.1)
