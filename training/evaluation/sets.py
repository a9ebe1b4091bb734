"""What an evaluation set is: whose takes are converted, to what, compared with what, heard how.

``valid``   RAVDESS validation speakers (the bundle's ``training.valid_speakers``), clean;
            for a bundle trained on some sentences only, the sentences it never heard.
``emodb``   the EmoDB speakers under the root: another corpus, language and set of sentences.
``room``    the ``valid`` takes recorded in a simulated room (:mod:`training.room`), one room
            per speaker, inputs and targets alike, judged as ``valid`` is.
``level``   the ``valid`` takes 30 dB quieter (a low mic gain), outputs brought back up, so
            that any difference to the normal-level conversion is the converter's. Files
            are converted as ``rtconvert convert`` does (the front end primed with the
            take's level, :mod:`rtconvert.dsp.normalizer`): a live stream keeps the mic's
            level, and its level-invariance rests on the analysis (tests/test_pitch.py).
``mix``     the ``valid`` sources converted to pairs of emotions half and half, beside the
            pure conversions (:mod:`.mixtures`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from rtconvert.bundle import Bundle
from rtconvert.dsp.levels import db_to_gain
from rtconvert.errors import RtconvertError
from rtconvert.settings import NEUTRAL, choices

from ..corpus import Utterance, label_file
from ..room import Room, draw_room, record, seed_of

FloatArray = npt.NDArray[np.float64]

SET_NAMES = ("valid", "emodb", "room", "level", "mix")
#: The level check's input gain.
LEVEL_GAIN_DB = -30.0
#: RAVDESS's strong takes are the targets there; every other corpus has one intensity.
STRONG = 3


class EvaluationError(RtconvertError):
    """The data or options do not allow an evaluation."""


@dataclass(frozen=True)
class Condition:
    """How every take of a set reaches the converter (and the judge)."""

    name: str = "clean"  # clean, room or level
    gain_db: float = 0.0  # level: the take this much quieter in, the output brought back

    def apply(self, samples: FloatArray, take: str, sample_rate: int) -> FloatArray:
        """The take as the converter hears it."""
        if self.name == "room":
            utterance = label_file(take)
            if utterance is None:
                raise EvaluationError(f"{take}: not a take of a known corpus (no speaker)")
            speaker = utterance.speaker
            return record(samples, evaluation_room(speaker, sample_rate),
                          seed_of("rtconvert-evaluate noise", take))
        return samples * db_to_gain(self.gain_db)

    def restore(self, samples: FloatArray) -> FloatArray:
        """An output brought back to the level the take had before :meth:`apply`."""
        return samples * db_to_gain(-self.gain_db)


CLEAN = Condition()


@lru_cache(maxsize=64)
def evaluation_room(speaker: str, sample_rate: int) -> Room:
    """The room a speaker is recorded in by the evaluation (seeds training never draws)."""
    return draw_room(seed_of("rtconvert-evaluate room", speaker), sample_rate)


@dataclass
class Plan:
    """The takes one evaluation set uses, and how it is judged."""

    name: str
    speakers: list[str]
    emotions: list[str]
    sentences: list[str]
    held_out_sentence: bool
    sources: list[Utterance]  # the neutral takes that are converted
    targets: list[Utterance]  # real emotional takes of the same speakers and sentences
    real: list[Utterance]  # every take of the speakers and sentences (judge accuracy)
    condition: Condition = CLEAN
    # "outputs": each speaker's outputs of a system z-score themselves (a balanced set of a
    # neutral member and one output per emotion); "real": the speaker's real takes of the
    # set (its neutral and target takes, as heard in the condition) are the yardstick.
    yardstick: str = "outputs"
    classes: tuple[str, ...] = ()  # the judge's choices; () = all of its classes
    curve: bool = True  # the judge's intensity curve


def _matches(sentence: str, names: list[str]) -> bool:
    """``RAVDESS_01`` matches ``RAVDESS_01`` and ``01``."""
    return any(sentence == n or sentence.endswith("_" + n) for n in names)


def _select_sentences(bundle: Bundle, available: list[str],
                      requested: tuple[str, ...] | None) -> tuple[list[str], bool]:
    """The sentences to evaluate and whether the bundle never saw them."""
    trained = bundle.metadata.get("training", {}).get("sentences")
    held_out = trained is not None and not all(_matches(s, list(trained)) for s in available)
    sentences = [s for s in available if not (held_out and _matches(s, list(trained)))]
    if requested is not None:
        sentences = [s for s in sentences if _matches(s, list(requested))]
    if not sentences:
        raise EvaluationError(f"no sentence left to evaluate (available {available}, bundle "
                              f"trained on {trained or 'all'}, requested {requested or 'all'})")
    return sentences, held_out


def _emotions(bundle: Bundle, requested: tuple[str, ...] | None) -> list[str]:
    emotions = list(requested or bundle.emotions)
    unknown = sorted(set(emotions) - set(bundle.emotions))
    if unknown:
        raise EvaluationError(f"emotions {unknown} are not in the bundle "
                              f"({', '.join(bundle.emotions)})")
    return emotions


def ravdess_plan(bundle: Bundle, utterances: list[Utterance],
                 speakers: tuple[str, ...] | None = None, emotions: tuple[str, ...] | None = None,
                 sentences: tuple[str, ...] | None = None) -> Plan:
    """The ``valid`` set: speakers, emotions, sentences and takes of RAVDESS.

    Parameters
    ----------
    bundle : Bundle
        Its metadata names the validation speakers (``training.valid_speakers``) and, for
        a model trained on some sentences only, those sentences (``training.sentences``,
        ``RAVDESS_01`` or ``01``; missing means all).
    utterances : list of Utterance
        Every RAVDESS take under the dataset root.
    speakers, emotions, sentences : tuple of str, optional
        Restrictions (default: the bundle's validation speakers, all its emotions, every
        sentence it was not trained on or all).

    Raises
    ------
    EvaluationError
        If no speaker, emotion or sentence is left, or a speaker has no neutral take.
    """
    valid = bundle.metadata.get("training", {}).get("valid_speakers")
    speakers = list(speakers or valid or [])
    if not speakers:
        raise EvaluationError(f"bundle {bundle.path}: metadata names no training.valid_speakers; "
                              "pass --speakers")
    emotions = _emotions(bundle, emotions)
    mine = [u for u in utterances if u.speaker in speakers]
    missing = sorted(set(speakers) - {u.speaker for u in mine if u.emotion == NEUTRAL})
    if missing:
        raise EvaluationError(f"no neutral takes of {', '.join(missing)} under the dataset root")
    chosen, held_out = _select_sentences(bundle, sorted({u.sentence for u in mine}), sentences)
    real = [u for u in mine if u.sentence in chosen]
    return Plan("valid", speakers, emotions, chosen, held_out,
                sources=[u for u in real if u.emotion == NEUTRAL],
                targets=[u for u in real if u.emotion in emotions and u.intensity == STRONG],
                real=real)


def emodb_plan(bundle: Bundle, utterances: list[Utterance],
               emotions: tuple[str, ...] | None = None,
               speakers: tuple[str, ...] | None = None) -> Plan:
    """The ``emodb`` set: every EmoDB neutral take to every emotion both corpus and bundle have.

    The judge chooses among neutral and those emotions (EmoDB has no calm or surprised
    take to confuse them with) and z-scores each speaker's outputs by its real takes.
    ``speakers`` restricts it to the EmoDB speakers among them (default all).

    Raises
    ------
    EvaluationError
        If the root holds no EmoDB takes, or none of the requested emotions.
    """
    takes = [u for u in utterances if u.corpus == "EmoDB"]
    if not takes:
        raise EvaluationError("no EmoDB takes under the dataset root (emodb16k/)")
    available = {u.emotion for u in takes}
    chosen = [e for e in _emotions(bundle, emotions) if e in available]
    if not chosen:
        raise EvaluationError(f"EmoDB has none of the emotions {list(emotions or bundle.emotions)}")
    speakers = sorted({u.speaker for u in takes if u.emotion == NEUTRAL
                       and (not speakers or u.speaker in speakers)})
    if not speakers:
        raise EvaluationError("no EmoDB speaker with neutral takes among the requested")
    real = [u for u in takes if u.speaker in speakers and u.emotion in choices(tuple(chosen))]
    return Plan("emodb", speakers, chosen, sorted({u.sentence for u in real}), True,
                sources=[u for u in real if u.emotion == NEUTRAL],
                targets=[u for u in real if u.emotion != NEUTRAL], real=real,
                yardstick="real", classes=choices(tuple(chosen)), curve=False)


def room_plan(valid: Plan) -> Plan:
    """The ``room`` set: the ``valid`` takes recorded in each speaker's simulated room, judged
    as ``valid`` is (each speaker's outputs of a system z-score themselves, all in the room),
    so that the two compare."""
    return replace(valid, name="room", condition=Condition("room"), curve=False)


def mix_plan(valid: Plan) -> Plan:
    """The ``mix`` set: the ``valid`` sources, clean, converted to mixtures (:mod:`.mixtures`)."""
    return replace(valid, name="mix", curve=False)


def level_plan(valid: Plan) -> Plan:
    """The ``level`` set: the ``valid`` sources at a low mic gain (``LEVEL_GAIN_DB``)."""
    return replace(valid, name="level", condition=Condition("level", LEVEL_GAIN_DB), curve=False)
