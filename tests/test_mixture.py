"""Emotion mixtures: ``happy=0.6,surprised=0.4`` parsed, conditioned, shifted and converted."""

from __future__ import annotations

import numpy as np
import pytest

from rtconvert.bundle import load_bundle
from rtconvert.dsp.features import analyze
from rtconvert.engine.engine import Engine
from rtconvert.engine.prosody import CENTS_PER_LOG, ProsodyShifter, shift_at
from rtconvert.errors import ConfigError
from rtconvert.offline.fileconvert import convert_signal
from rtconvert.settings import Ramp, Settings, mixture_text, parse_mixture

EMOTIONS = ("calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def test_a_name_is_a_mixture_of_one_and_weights_are_relative():
    assert parse_mixture("happy", EMOTIONS) == (("happy", 1.0),)
    assert parse_mixture(" Happy = 3 , surprised=1 ", EMOTIONS) == (("happy", 0.75),
                                                                   ("surprised", 0.25))
    assert parse_mixture("happy=0.5,sad=0", EMOTIONS) == (("happy", 1.0),)
    assert mixture_text(parse_mixture("happy=2,surprised=2", EMOTIONS)) == \
        "happy=0.5,surprised=0.5"
    assert mixture_text(parse_mixture("sad=0.3", EMOTIONS)) == "sad"


@pytest.mark.parametrize(("text", "message"), [
    ("happy=0.5,bored=0.5", "unknown emotion 'bored'"),
    ("happy=0.5,happy=0.5", "appears twice"),
    ("happy=lots", "'lots' is not a number"),
    ("happy=-1,sad=2", "must be 0 or more"),
    ("happy=0,sad=0", "sum to 0"),
    ("happy=inf", "must be 0 or more"),
])
def test_bad_mixtures_name_the_bad_part(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_mixture(text, EMOTIONS)


def test_the_condition_spreads_the_intensity_over_the_weights():
    settings = Settings(emotion="happy=0.6,surprised=0.4", intensity=0.5).validate(EMOTIONS)
    condition = settings.condition(EMOTIONS)
    assert condition[EMOTIONS.index("happy")] == pytest.approx(0.3)
    assert condition[EMOTIONS.index("surprised")] == pytest.approx(0.2)
    assert condition.sum() == pytest.approx(0.5)
    diluted = Settings(emotion="neutral=0.5,sad=0.5", intensity=1.0).validate(EMOTIONS)
    assert diluted.condition(EMOTIONS)[EMOTIONS.index("sad")] == pytest.approx(0.5)
    assert Settings(emotion="happy=2,sad=2").validate(EMOTIONS).emotion == "happy=0.5,sad=0.5"


def test_prosody_follows_the_same_weights():
    """A mixture's shift is its emotions' at its intensity, averaged by their weights; one
    emotion diluted by neutral is that emotion at the lower intensity."""
    bundle = load_bundle()
    shifter = ProsodyShifter.from_bundle(bundle)

    def row(emotion, intensity=1.0):
        return Settings(emotion=emotion, intensity=intensity).validate(
            bundle.emotions).condition(bundle.emotions)

    happy, sad = (shift_at(shifter.anchors[e], 1.0) for e in ("happy", "sad"))
    mixed = shifter.mixture_shift(row("happy=0.75,sad=0.25"))
    for part in ("delta_lf0", "log_sigma_ratio", "delta_c0_db"):
        assert getattr(mixed, part) == pytest.approx(
            0.75 * getattr(happy, part) + 0.25 * getattr(sad, part)), part
    assert shifter.mixture_shift(row("neutral=0.5,sad=0.5")) == shift_at(shifter.anchors["sad"],
                                                                          0.5)
    assert shifter.mixture_shift(row("sad", 0.5)) == shift_at(shifter.anchors["sad"], 0.5)


def test_a_glide_between_two_emotions_moves_the_shift_in_a_straight_line():
    """Every row of a glide from happy to surprised lies between the two pure shifts, in
    proportion: no dip through both at their normal intensities, no range multiplied."""
    bundle = load_bundle()
    shifter = ProsodyShifter.from_bundle(bundle)
    ramp = Ramp(Settings(emotion="happy", intensity=1.0).condition(bundle.emotions), 10)
    rows = ramp.step(Settings(emotion="surprised", intensity=1.0).condition(bundle.emotions), 10)
    start, end = (shift_at(shifter.anchors[e], 1.0) for e in ("happy", "surprised"))
    for i, glide_row in enumerate(rows, 1):
        shift = shifter.mixture_shift(glide_row)
        for part in ("delta_lf0", "log_sigma_ratio", "delta_c0_db"):
            a, b = getattr(start, part), getattr(end, part)
            assert getattr(shift, part) == pytest.approx(a + i / 10 * (b - a)), (i, part)


def test_a_mixture_moves_f0_between_its_two_emotions(speech, feature_config):
    """calm=0.5,happy=0.5 at intensity 1 moves F0 by the mean of calm's shift (a little lower)
    and happy's (much higher), between the two."""
    bundle = load_bundle()
    source = analyze(speech, feature_config).f0_hz
    moved = {}
    for emotion in ("calm", "happy", "calm=0.5,happy=0.5"):
        engine = Engine(bundle, feature_config.sample_rate,
                        Settings(emotion=emotion, intensity=1.0))
        converted = convert_signal(engine, np.concatenate([speech, speech]))[len(speech):]
        f0 = analyze(converted, feature_config).f0_hz
        moved[emotion] = CENTS_PER_LOG * (np.mean(np.log(f0[f0 > 0]))
                                          - np.mean(np.log(source[source > 0])))
    shifter = ProsodyShifter.from_bundle(bundle)
    expected = CENTS_PER_LOG * (shift_at(shifter.anchors["calm"], 1.0).delta_lf0
                                + shift_at(shifter.anchors["happy"], 1.0).delta_lf0) / 2
    assert moved["calm"] + 100 < moved["calm=0.5,happy=0.5"] < moved["happy"] - 100
    assert abs(moved["calm=0.5,happy=0.5"] - expected) < 150


def test_the_circumplex_mixture_is_pure_on_the_spots_and_never_jumps():
    from rtconvert.circumplex import ANGLES_DEG, position, weights_at

    for emotion in (*EMOTIONS, "neutral"):
        assert weights_at(*position(emotion), EMOTIONS) == ((emotion, 1.0),)
    angles = sorted(np.radians(list(ANGLES_DEG.values())))
    lipschitz = 1 / min(np.diff([*angles, angles[0] + 2 * np.pi])) + 1
    rng = np.random.default_rng(0)
    for _ in range(2000):
        a = rng.uniform(-1.1, 1.1, 2)
        b = a + rng.normal(0, 1e-3, 2)
        wa, wb = dict(weights_at(*a, EMOTIONS)), dict(weights_at(*b, EMOTIONS))
        assert sum(wa.values()) == pytest.approx(1.0)
        change = max(abs(wa.get(e, 0.0) - wb.get(e, 0.0)) for e in {*wa, *wb})
        assert change <= lipschitz * np.hypot(*(a - b)) * 1.01 + 1e-12, (a, b, wa, wb)
