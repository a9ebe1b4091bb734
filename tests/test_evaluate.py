"""Evaluation: distance measures on known inputs, DNSMOS input, splits, judged sets, a real run."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from helpers import RAVDESS_ROOT, SHARED_DATA, TEST_CACHE, needs_emodb, needs_ravdess

from rtconvert.bundle import default_bundle_path, load_bundle
from rtconvert.dsp.features import WorldFeatures
from rtconvert.dsp.normalizer import speech_level_db
from training.corpus import EMOTIONS, Utterance, label_file
from training.evaluation.evaluate import main
from training.evaluation.judge import zscore_by_group
from training.evaluation.measures import (
    DNSMOS_LEVEL_DB,
    DNSMOS_RATE,
    DNSMOS_WINDOW_S,
    MCD_SCALE,
    compare,
    dnsmos_input,
    lf0_correlation,
    lf0_rmse_cents,
    mel_cepstral_distortion,
)
from training.evaluation.renders import Record
from training.evaluation.report import Scored, generator_f0_cents, level_summary
from training.evaluation.sets import EvaluationError, emodb_plan, ravdess_plan
from training.evaluation.verdicts import SYSTEMS, Member, judge_members, system_members, yardstick
from training.index import scan


def contour(n: int = 200, seed: int = 0) -> np.ndarray:
    """A voiced F0 contour in Hz with gaps, rising and falling."""
    rng = np.random.default_rng(seed)
    f0 = 150.0 * 2 ** (np.sin(np.linspace(0, 3 * np.pi, n)) / 3)
    return np.where(rng.random(n) > 0.2, f0, 0.0)


def test_mcd_is_zero_for_identical_frames_and_scaled_for_a_unit_step():
    a = np.random.default_rng(0).standard_normal((50, 35))
    assert mel_cepstral_distortion(a, a) == 0.0
    b = a.copy()
    b[:, 3] += 1.0
    assert mel_cepstral_distortion(a, b) == pytest.approx(MCD_SCALE)


def test_log_f0_measures_on_a_shifted_contour():
    f0 = contour()
    raised = np.where(f0 > 0, f0 * 2 ** (100 / 1200), 0.0)
    assert lf0_rmse_cents(f0, f0) == 0.0
    assert lf0_rmse_cents(raised, f0) == pytest.approx(100.0)
    assert lf0_correlation(raised, f0) == pytest.approx(1.0)
    flipped = np.where(f0 > 0, 300.0 ** 2 / np.where(f0 > 0, f0, 1.0), 0.0)
    assert lf0_correlation(flipped, f0) == pytest.approx(-1.0)
    assert math.isnan(lf0_correlation(np.full(200, 120.0), f0))  # flat: r undefined
    assert math.isnan(lf0_rmse_cents(np.zeros(200), f0))  # nothing voiced in both


def test_compare_aligns_before_measuring():
    rng = np.random.default_rng(1)
    mcep = rng.standard_normal((120, 36))
    features = WorldFeatures(contour(120), mcep, np.zeros((120, 3)))
    same = compare(features, features)
    assert same.mcd_db == pytest.approx(0.0) and same.lf0_rmse_cents == pytest.approx(0.0)
    assert same.lf0_r == pytest.approx(1.0)
    # Every frame said twice as long: DTW finds the same frames, so nothing differs.
    slow = WorldFeatures(np.repeat(features.f0_hz, 2), np.repeat(mcep, 2, axis=0),
                         np.zeros((240, 3)))
    assert compare(slow, features).mcd_db == pytest.approx(0.0)
    raised = WorldFeatures(features.f0_hz * 2 ** (100 / 1200), mcep, features.bap)
    assert compare(raised, features).lf0_rmse_cents == pytest.approx(100.0)


def test_dnsmos_input_is_one_16k_window_scaled_not_clipped():
    t = np.arange(24000) / 24000
    loud = 3.0 * np.sin(2 * np.pi * 200 * t)
    out = dnsmos_input(loud, 24000)
    assert out.dtype == np.float32 and len(out) == math.ceil(DNSMOS_WINDOW_S * DNSMOS_RATE)
    # Any level is brought to DNSMOS_LEVEL_DB, scaled rather than clipped: still a sine.
    for level in (3.0, 0.1, 0.001):
        out = dnsmos_input(level * np.sin(2 * np.pi * 200 * t), 24000)
        assert speech_level_db(out.astype(np.float64), DNSMOS_RATE) == \
            pytest.approx(DNSMOS_LEVEL_DB, abs=0.5)
        peak = np.abs(out).max()
        assert peak < 1.0 and np.mean(np.abs(out) > 0.999 * peak) < 0.05


def _utterance(speaker: str, emotion: str, intensity: int, sentence: str, rep: str) -> Utterance:
    code = f"{EMOTIONS.index(emotion) + 1:02d}"
    return Utterance(f"ravdess24k/Actor_{speaker}/03-01-{code}-0{intensity - 1}-{sentence}-{rep}-"
                     f"{speaker}.flac", emotion, intensity, "RAVDESS", f"RAVDESS_{speaker}",
                     "male", f"RAVDESS_{sentence}")


def fake_corpus() -> list[Utterance]:
    """Labels only, no audio: two speakers, both sentences, neutral and two strong emotions."""
    return [_utterance(spk, emotion, 3 if emotion != "neutral" else 2, sentence, rep)
            for spk in ("01", "03") for sentence in ("01", "02") for rep in ("01", "02")
            for emotion in ("neutral", "angry", "sad")]


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(default_bundle_path())


def test_plan_evaluates_only_the_sentence_a_model_never_saw(bundle):
    training = dict(bundle.metadata["training"], valid_speakers=["RAVDESS_01"])
    both = ravdess_plan(replace(bundle, metadata=dict(bundle.metadata, training=training)),
                        fake_corpus(), emotions=("angry", "sad"))
    assert both.sentences == ["RAVDESS_01", "RAVDESS_02"] and not both.held_out_sentence
    one = dict(training, sentences=["RAVDESS_01"])
    plan = ravdess_plan(replace(bundle, metadata=dict(bundle.metadata, training=one)),
                        fake_corpus(), emotions=("angry", "sad"))
    assert plan.sentences == ["RAVDESS_02"] and plan.held_out_sentence
    assert {u.sentence for u in plan.sources + plan.targets} == {"RAVDESS_02"}
    assert len(plan.sources) == 2 and len(plan.targets) == 4


def fake_records(plan, emotions=("angry", "sad"), functionals=None) -> dict:
    """A record for every take and recipe the plan's sets look up (no audio)."""
    records = {}
    for take in plan.real:
        keys = [("source", take.filepath, "neutral", 0.0),
                ("resynthesis", take.filepath, "neutral", 0.0)]
        keys += [(recipe, take.filepath, emotion, 1.0) for recipe in ("f0_only", "convert")
                 for emotion in emotions]
        for key in keys:
            key = (plan.condition.name, *key)
            records[key] = Record(key, functionals(key) if functionals else {})
    return records


def test_judged_sets_are_balanced_like_the_real_data(bundle):
    training = dict(bundle.metadata["training"], valid_speakers=["RAVDESS_01"])
    plan = ravdess_plan(replace(bundle, metadata=dict(bundle.metadata, training=training)),
                        fake_corpus(), emotions=("angry", "sad"))
    records = fake_records(plan)
    for system in SYSTEMS:
        members = list(system_members(system, plan, records))
        assert {m.group for m in members} == {(system, "RAVDESS_01")}
        targets = [m.target for m in members]
        assert targets.count("angry") == targets.count("sad") == 4  # 4 takes of each
        neutral = [m.record.key[1] for m in members if m.target == "neutral"]
        expected = {"unchanged": "source"}.get(system, "resynthesis")
        assert neutral and set(neutral) == {expected}
        if system in ("unchanged", "resynthesis"):  # the same audio eight times over
            assert len({m.record.key for m in members}) == len(plan.sources)


def fake_emodb() -> list[Utterance]:
    """EmoDB labels only: two speakers, one sentence each, neutral and two emotions."""
    names = ["03a01Nc", "03a01Wa", "03a01Fa", "08a02Nb", "08a02Wb", "08a02Tb"]
    return [label_file(f"emodb16k/{name}.flac") for name in names]


def test_emodb_plan_converts_every_neutral_take_to_the_emotions_both_know(bundle):
    plan = emodb_plan(bundle, fake_corpus() + fake_emodb())
    assert plan.speakers == ["EmoDB_03", "EmoDB_08"]
    assert plan.emotions == [e for e in bundle.emotions if e in ("happy", "sad", "angry")]
    assert {u.corpus for u in plan.real} == {"EmoDB"} and len(plan.sources) == 2
    assert plan.classes == ("neutral", *plan.emotions) and plan.yardstick == "real"
    with pytest.raises(EvaluationError, match="EmoDB"):
        emodb_plan(bundle, fake_corpus())


def test_the_real_yardstick_z_scores_outputs_by_the_speakers_real_takes(bundle):
    """An output like the speaker's own angry take is heard as angry: its functionals are
    z-scored by the real takes (resynthesised for the engine's systems), not by the outputs."""
    plan = emodb_plan(bundle, fake_emodb(), emotions=("angry",))
    value = {"neutral": 0.0, "angry": 1.0, "happy": 2.0, "sad": 3.0}

    def functionals(key):  # a take's one feature says its emotion; outputs copy it
        condition, recipe, take, emotion, _ = key
        heard = emotion if recipe == "convert" else label_file(take).emotion
        return {"egemaps": np.array([value[heard], 5.0 if recipe == "source" else 0.0])}

    records = fake_records(plan, ("angry",), functionals)
    members = list(system_members("converter", plan, records))
    reference = yardstick(plan, records, members)
    assert reference.groups == [("converter", "EmoDB_03")] * 2 + [("converter", "EmoDB_08")] * 2
    # Engine systems are measured against resynthesised takes (feature 2 is 0 there).
    assert (reference.features["egemaps"][:, 1] == 0.0).all()
    z = zscore_by_group(np.stack([m.record.functionals["egemaps"] for m in members]),
                        [m.group for m in members], reference.features["egemaps"],
                        reference.groups)
    angry = [i for i, m in enumerate(members) if m.target == "angry"]
    assert np.allclose(z[angry, 0], 1.0)  # the angry take's value, one std above the mean
    with pytest.raises(ValueError, match="no reference rows"):
        zscore_by_group(np.zeros((1, 2)), ["a"], np.zeros((1, 2)), ["b"])


def test_judging_restricted_to_a_sets_classes_renormalises():
    class Fixed:
        feature_sets = ("egemaps",)

        def probabilities(self, features, groups, reference=None):
            p = np.zeros((len(groups), len(EMOTIONS)))
            p[:, EMOTIONS.index("calm")] = 0.6  # a class the set does not hold
            p[:, EMOTIONS.index("angry")] = 0.3
            p[:, EMOTIONS.index("neutral")] = 0.1
            return p

    members = [Member(("converter", "s"), "angry", Record((), {"egemaps": np.zeros(1)}))]
    everything = judge_members(Fixed(), members)[0]
    assert not everything.hit and everything.verdict == "calm"
    chosen = judge_members(Fixed(), members, classes=("neutral", "angry"))[0]
    assert chosen.hit and chosen.p_target == pytest.approx(0.75)


def test_level_summary_compares_each_conversion_at_both_levels():
    base = np.log(150.0)
    cents = 1200 / np.log(2)

    def scored(target, shift_cents, verdict):
        return Scored(target, 0.5, verdict == target, [], None, 0.1, verdict,
                      base + shift_cents / cents)

    normal = [scored("sad", 400, "sad"), scored("angry", 300, "angry")]
    quiet = [scored("sad", 430, "sad"), scored("angry", 400, "fearful")]
    summary = level_summary({"clean": normal, "level": quiet}, [base, base], ["sad", "angry"],
                            -30.0)
    assert summary["n"] == 2 and summary["same_verdict"] == 0.5
    assert summary["f0_shift_difference_cents"]["mean"] == pytest.approx(65.0)
    assert summary["f0_shift_difference_cents"]["within_tolerance"] == 0.5
    assert summary["f0_shift_cents"]["normal"] == pytest.approx(350.0)
    assert summary["recognised"] == {"normal": 1.0, "quiet": 0.5}


def test_missing_root_and_bundle_are_one_line_errors(tmp_path, capsys):
    assert main(["--root", str(tmp_path / "nowhere"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("rtconvert-evaluate: error: --root") and "\n" not in err
    assert main(["--bundle", str(tmp_path / "nobundle"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert "nobundle" in err and "\n" not in err and "Traceback" not in err


@pytest.fixture(scope="module")
def small_judge(tmp_path_factory):
    """A judge fitted on two training speakers' real takes of one sentence (eGeMAPS only)."""
    from training.evaluation.judge import JudgeConfig
    from training.evaluation.judge_data import collect_material, fit_on_material
    from training.index import scan

    if not RAVDESS_ROOT.is_dir():
        pytest.skip(f"RAVDESS corpus not found at {RAVDESS_ROOT}")
    utterances = [u for u in scan(SHARED_DATA)[0] if u.speaker in ("RAVDESS_03", "RAVDESS_04")
                  and u.sentence == "RAVDESS_01"]
    bundle = load_bundle()
    material = collect_material(utterances, SHARED_DATA, bundle, TEST_CACHE.parent / "test-judge",
                                ("egemaps",), ("real",), progress=False)
    judge = fit_on_material(material, JudgeConfig(feature_sets=(("egemaps",),), c_values=(0.1,),
                                                  n_folds=2))
    from training.evaluation.judge import save_judge

    path = tmp_path_factory.mktemp("judge") / "judge.joblib"
    save_judge(judge, path)
    return path


@needs_ravdess
@needs_emodb
@pytest.mark.slow
@pytest.mark.shared_data
def test_the_generators_residual_is_its_f0_beyond_the_statistics():
    cents = 1200 / np.log(2)

    def scored(target, median_cents):
        median = None if median_cents is None else np.log(150.0) + median_cents / cents
        return Scored(target, 0.5, True, [], None, 0.1, target, median)

    converter = [scored("sad", 450), scored("angry", 300), scored("sad", 350),
                 scored("angry", None)]
    f0_only = [scored("sad", 400), scored("angry", 400), scored("sad", 400),
               scored("angry", 100)]
    residual = generator_f0_cents(converter, f0_only, ["sad", "angry"])
    assert residual["per_emotion"] == pytest.approx({"sad": 0.0, "angry": -100.0})
    assert residual["overall"] == pytest.approx(-50.0)
    with pytest.raises(ValueError, match="unaligned"):
        generator_f0_cents(converter[1:] + converter[:1], f0_only, ["sad", "angry"])


def test_evaluate_runs_every_set_and_system_on_real_speech(small_judge, tmp_path):
    report, numbers = tmp_path / "eval.md", tmp_path / "eval.json"
    assert main(["--root", str(SHARED_DATA), "--speakers", "RAVDESS_01,EmoDB_03", "--emotions",
                 "angry", "--sentences", "RAVDESS_01", "--judge", str(small_judge), "--workers",
                 "1", "--cache", str(TEST_CACHE.parent / "test-judge"), "-o", str(report),
                 "--json", str(numbers), "--no-progress"]) == 0
    text = report.read_text()
    summary = json.loads(numbers.read_text())
    assert list(summary["sets"]) == ["valid", "emodb", "room", "level", "mix"]
    assert summary["sets"]["mix"]["pairs"] == {}  # angry alone makes no pair
    emodb = [u.emotion for u in scan(SHARED_DATA)[0] if u.speaker == "EmoDB_03"]
    for name, n_sources, n_targets in (("valid", 2, 2), ("room", 2, 2),
                                       ("emodb", emodb.count("neutral"), emodb.count("angry"))):
        systems = summary["sets"][name]["systems"]
        for system in SYSTEMS + ("real",):
            overall = systems[system]["overall"]
            expected = n_targets if system in ("ceiling", "real") else n_sources
            assert overall["n"] == expected, (name, system)
            keys = ["recognised", "p_target", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak",
                    "dnsmos_p808"]
            keys += ["mcd_db", "lf0_rmse_cents", "lf0_r"] if system != "real" else []
            for key in keys:
                assert overall[key] is not None and math.isfinite(overall[key]), (name, system,
                                                                                  key)
            assert 1.0 <= overall["dnsmos_ovrl"] <= 5.0
        # The copy-synthesis of a take is far closer to it than the neutral input is.
        assert systems["ceiling"]["overall"]["mcd_db"] < systems["unchanged"]["overall"]["mcd_db"]
    valid = summary["sets"]["valid"]
    assert list(valid["intensity_curve"]) == ["0", "0.25", "0.5", "0.75", "1"]
    assert valid["intensity_curve"]["1"]["overall"]["p_target"] == pytest.approx(
        valid["systems"]["converter"]["overall"]["p_target"])
    assert 0.0 <= valid["judge_real"]["all"] <= 1.0
    assert math.isfinite(valid["generator_f0_cents"]["per_emotion"]["angry"])
    # The room is heard: its real takes are further from the clean neutral take's sound.
    room = summary["sets"]["room"]["systems"]
    assert room["unchanged"]["overall"]["dnsmos_ovrl"] < \
        valid["systems"]["unchanged"]["overall"]["dnsmos_ovrl"]
    level = summary["sets"]["level"]
    assert level["n"] == 2 and level["gain_db"] == -30.0
    assert 0.0 <= level["same_verdict"] <= 1.0
    for title in ("RAVDESS validation speakers", "EmoDB", "in a room", "-30 dB",
                  "own F0 shift (residual)"):
        assert title in text


@needs_ravdess
@pytest.mark.shared_data
def test_mixtures_are_judged_beside_their_pure_conversions(small_judge, tmp_path):
    report, numbers = tmp_path / "eval.md", tmp_path / "eval.json"
    assert main(["--root", str(SHARED_DATA), "--sets", "mix", "--speakers", "RAVDESS_01",
                 "--emotions", "angry,disgust", "--sentences", "RAVDESS_01", "--judge",
                 str(small_judge), "--workers", "1", "--cache",
                 str(TEST_CACHE.parent / "test-judge"), "-o", str(report), "--json",
                 str(numbers), "--no-progress"]) == 0
    mix = json.loads(numbers.read_text())["sets"]["mix"]
    pair = mix["pairs"]["angry+disgust"]
    assert pair["n"] == 2  # RAVDESS_01's two neutral takes of statement 01
    assert set(pair["systems"]) == {"unchanged", "resynthesis", "angry", "disgust", "mixture"}
    for system in pair["systems"].values():
        assert 0.0 <= system["p_a"] <= 1.0 and 0.0 <= system["p_b"] <= 1.0
        assert 1.0 <= system["dnsmos_ovrl"] <= 5.0
        assert sum(system["p_mean"].values()) == pytest.approx(1.0)
        assert system["p_mean"]["angry"] == pytest.approx(system["p_a"])
    assert "| angry + disgust |" in report.read_text()


@pytest.mark.parametrize("profile", ["balanced", "low"])
def test_shipped_bundle_is_valid_and_small(profile):
    # A missing or broken shipped bundle fails here (load_bundle raises), never skips.
    bundle = load_bundle(default_bundle_path(profile))
    assert bundle.latency_profile == profile
    size = sum(f.stat().st_size for f in bundle.path.iterdir())
    assert size < 10e6
    assert "CC BY-NC-SA 4.0" in bundle.licence
    assert set(bundle.metadata["training"]["valid_speakers"]).isdisjoint(
        bundle.metadata["training"]["speakers"])


def test_confusions_count_what_each_target_was_heard_as():
    from training.evaluation.report import confusions

    rows = [Scored("sad", 0.4, False, [], None, 0.1, "fearful"),
            Scored("sad", 0.6, True, [], None, 0.1, "sad"),
            Scored("sad", 0.3, False, [], None, 0.1, "fearful"),
            Scored("angry", 0.9, True, [], None, 0.1, "angry")]
    assert confusions(rows) == {"sad": {"fearful": 2, "sad": 1}, "angry": {"angry": 1}}
