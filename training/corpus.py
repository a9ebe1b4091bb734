"""Emotion labels from corpus file names: RAVDESS, CREMA-D, SAVEE and EmoDB naming conventions.

Intensity codes follow the research notebooks' index: 1 low, 2 normal or unspecified,
3 high/strong.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

#: The emotions the product converts to, plus the neutral source.
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
INTENSITY_NAMES = {1: "low", 2: "normal", 3: "strong"}
AUDIO_SUFFIXES = (".wav", ".flac")

_RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                     "06": "fearful", "07": "disgust", "08": "surprised"}
_RAVDESS_INTENSITY = {"01": 2, "02": 3}
_RAVDESS = re.compile(r"^03-01-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")  # audio-only speech

_CREMA_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy",
                   "NEU": "neutral", "SAD": "sad"}
# "X" occurs once (1040_ITH_SAD_X), a truncated "XX"; " (1)" marks a duplicated download.
_CREMA_INTENSITY = {"LO": 1, "MD": 2, "HI": 3, "XX": 2, "X": 2}
_CREMA = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})(?: \(\d+\))?$")

_SAVEE_EMOTIONS = {"a": "angry", "d": "disgust", "f": "fearful", "h": "happy", "n": "neutral",
                   "sa": "sad", "su": "surprised"}
_SAVEE = re.compile(r"^(a|d|f|h|n|sa|su)(\d\d)$")
_SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")  # all four are male

# EmoDB (Burkhardt et al. 2005): SSTTTEV, speaker, sentence a01..b10, emotion letter, version.
# Boredom (L) has no counterpart among the product's emotions and is left out.
_EMODB_EMOTIONS = {"N": "neutral", "F": "happy", "T": "sad", "W": "angry", "A": "fearful",
                   "E": "disgust"}
_EMODB = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")
_EMODB_GENDERS = {"03": "male", "08": "female", "09": "female", "10": "male", "11": "male",
                  "12": "male", "13": "female", "14": "female", "15": "male", "16": "female"}

COLUMNS = ("filepath", "emotion", "intensity", "corpus", "speaker", "gender", "sentence")


@dataclass(frozen=True)
class Utterance:
    """One row of data.csv: a file relative to the dataset root and its labels."""

    filepath: str  # POSIX path relative to the dataset root
    emotion: str  # one of EMOTIONS
    intensity: int  # 1 low, 2 normal/unspecified, 3 strong
    corpus: str  # RAVDESS, CREMA-D, SAVEE or EmoDB
    speaker: str  # corpus-unique speaker id, e.g. RAVDESS_04
    gender: str  # "male", "female" or "" where the corpus index does not say
    sentence: str  # corpus-unique sentence id, e.g. RAVDESS_01

    def as_row(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}

    @classmethod
    def from_row(cls, row: dict[str, str]) -> Utterance:
        return cls(row["filepath"], row["emotion"], int(row["intensity"]), row["corpus"],
                   row["speaker"], row["gender"], row["sentence"])


def label_file(relative_path: str, crema_genders: dict[str, str] | None = None) -> Utterance | None:
    """Labels of one corpus file from its name, or None if no convention matches.

    Parameters
    ----------
    relative_path : str
        POSIX path relative to the dataset root; the suffix must be .wav or .flac.
    crema_genders : dict, optional
        CREMA-D actor id to "male"/"female" (from VideoDemographics.csv when present).
    """
    path = PurePosixPath(relative_path)
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        return None
    stem = path.stem
    if match := _RAVDESS.match(stem):
        emotion, intensity, statement, _repetition, actor = match.groups()
        if emotion not in _RAVDESS_EMOTIONS or intensity not in _RAVDESS_INTENSITY:
            return None
        return Utterance(relative_path, _RAVDESS_EMOTIONS[emotion], _RAVDESS_INTENSITY[intensity],
                         "RAVDESS", f"RAVDESS_{actor}", "male" if int(actor) % 2 else "female",
                         f"RAVDESS_{statement}")
    if match := _CREMA.match(stem):
        actor, sentence, emotion, level = match.groups()
        if emotion not in _CREMA_EMOTIONS or level not in _CREMA_INTENSITY:
            return None
        return Utterance(relative_path, _CREMA_EMOTIONS[emotion], _CREMA_INTENSITY[level],
                         "CREMA-D", f"CREMA-D_{actor}", (crema_genders or {}).get(actor, ""),
                         f"CREMA-D_{sentence}")
    speaker = path.parent.name
    if (match := _SAVEE.match(stem)) and speaker in _SAVEE_SPEAKERS:
        prefix, number = match.groups()
        return Utterance(relative_path, _SAVEE_EMOTIONS[prefix], 2, "SAVEE", f"SAVEE_{speaker}",
                         "male", f"SAVEE_{prefix}{number}")
    if (match := _EMODB.match(stem)) and path.parent.name.lower().startswith("emodb"):
        speaker, sentence, letter, _version = match.groups()
        if letter not in _EMODB_EMOTIONS:
            return None
        return Utterance(relative_path, _EMODB_EMOTIONS[letter], 2, "EmoDB", f"EmoDB_{speaker}",
                         _EMODB_GENDERS.get(speaker, ""), f"EmoDB_{sentence}")
    return None
