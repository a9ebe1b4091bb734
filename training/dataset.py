"""Training data from the feature cache: speaker split, normalisation, DTW-aligned parallel pairs, batches.

RAVDESS is parallel: every actor says both sentences neutrally and in every emotion.
Each (neutral take, emotional take) pair of one speaker and sentence is aligned once by
DTW; a batch crops aligned segments from random pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .corpus import EMOTIONS, INTENSITY_NAMES, Utterance
from .extract import feature_path, load_features
from .stats import speech_mask

#: The emotions the generator converts to, in the order of its condition vector.
TARGET_EMOTIONS = EMOTIONS[1:]
#: Generator intensity for each corpus intensity: normal is 0.5, strong 1.0.
INTENSITY_ALPHA = {"low": 0.25, "normal": 0.5, "strong": 1.0}
#: Frames kept around the speech part when trimming silence.
TRIM_MARGIN = 10


def domain_index(emotion: str, intensity: str) -> int:
    """Discriminator head: 0 neutral, then (emotion, normal), (emotion, strong) per emotion."""
    if emotion == "neutral":
        return 0
    return 1 + 2 * TARGET_EMOTIONS.index(emotion) + (intensity == "strong")


N_DOMAINS = 1 + 2 * len(TARGET_EMOTIONS)


def condition_vector(emotion: str, alpha: float) -> np.ndarray:
    """Signed intensity per target emotion: (n_emotions,), zero for neutral."""
    vector = np.zeros(len(TARGET_EMOTIONS), dtype=np.float32)
    if emotion != "neutral":
        vector[TARGET_EMOTIONS.index(emotion)] = alpha
    return vector


@dataclass
class Take:
    """One utterance, silence-trimmed, with normalised c1.. mel-cepstra."""

    utterance: Utterance
    mcep: np.ndarray  # (n_frames, n_features) normalised c1..
    f0_hz: np.ndarray  # (n_frames,)
    c0: np.ndarray  # (n_frames,)

    @property
    def domain(self) -> tuple[str, str]:
        return self.utterance.emotion, INTENSITY_NAMES[self.utterance.intensity]


def load_takes(directory: Path, utterances: list[Utterance], mcep_mean: np.ndarray,
               mcep_std: np.ndarray) -> list[Take]:
    """Cached features of ``utterances``, trimmed to their speech and normalised."""
    takes = []
    for utterance in utterances:
        features = load_features(feature_path(directory, utterance))
        speech = np.flatnonzero(speech_mask(features.mcep[:, 0]))
        start = max(0, speech[0] - TRIM_MARGIN)
        stop = min(features.n_frames, speech[-1] + 1 + TRIM_MARGIN)
        mcep = (features.mcep[start:stop, 1:] - mcep_mean[1:]) / mcep_std[1:]
        takes.append(Take(utterance, mcep.astype(np.float32), features.f0_hz[start:stop],
                          features.mcep[start:stop, 0]))
    return takes


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Frame alignment of two feature sequences, (n_steps, 2) index pairs from start to end."""
    import librosa

    _, path = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    return path[::-1]


def aligned_indices(path: np.ndarray, n_frames: int, side: int = 0) -> np.ndarray:
    """For each frame of sequence ``side`` of a DTW path, the matching frame of the other."""
    other = np.zeros(n_frames, dtype=np.int64)
    other[path[:, side]] = path[:, 1 - side]  # the last match of each frame wins
    return other


@dataclass
class Pair:
    """A neutral and an emotional take of one speaker and sentence, aligned both ways."""

    neutral: int  # index into the takes
    emotional: int
    to_emotional: np.ndarray  # (n_neutral_frames,) matching emotional frame
    to_neutral: np.ndarray  # (n_emotional_frames,) matching neutral frame


def parallel_pairs(takes: list[Take]) -> list[Pair]:
    """Every neutral/emotional pair of the same speaker and sentence, DTW-aligned."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for i, take in enumerate(takes):
        by_key.setdefault((take.utterance.speaker, take.utterance.sentence), []).append(i)
    pairs = []
    for indices in by_key.values():
        neutrals = [i for i in indices if takes[i].utterance.emotion == "neutral"]
        for n in neutrals:
            for e in indices:
                if takes[e].utterance.emotion == "neutral":
                    continue
                path = dtw_path(takes[n].mcep, takes[e].mcep)
                pairs.append(Pair(n, e, aligned_indices(path, len(takes[n].mcep), 0),
                                  aligned_indices(path, len(takes[e].mcep), 1)))
    return pairs


@dataclass
class Batch:
    """Aligned segments, each array (batch, n_features, segment_frames) unless noted."""

    neutral: np.ndarray  # neutral segments
    neutral_target: np.ndarray  # emotional frames aligned to them
    emotional: np.ndarray  # emotional segments
    emotional_target: np.ndarray  # neutral frames aligned to them
    condition: np.ndarray  # (batch, n_emotions): +alpha on the emotion of the pair
    domain: np.ndarray  # (batch,) discriminator head of the emotional take


def _crop(length: int, segment: int, rng: np.random.Generator) -> np.ndarray:
    """Frame indices of a random crop, repeating the last frame if the take is short."""
    start = rng.integers(0, max(1, length - segment + 1))
    return np.minimum(np.arange(start, start + segment), length - 1)


def sample_batch(takes: list[Take], pairs: list[Pair], batch_size: int, segment: int,
                 rng: np.random.Generator) -> Batch:
    """Random aligned segments of ``batch_size`` random pairs."""
    fields: dict[str, list] = {k: [] for k in Batch.__dataclass_fields__}
    for index in rng.integers(0, len(pairs), batch_size):
        pair = pairs[index]
        neutral, emotional = takes[pair.neutral], takes[pair.emotional]
        n_frames = _crop(len(neutral.mcep), segment, rng)
        e_frames = _crop(len(emotional.mcep), segment, rng)
        fields["neutral"].append(neutral.mcep[n_frames].T)
        fields["neutral_target"].append(emotional.mcep[pair.to_emotional[n_frames]].T)
        fields["emotional"].append(emotional.mcep[e_frames].T)
        fields["emotional_target"].append(neutral.mcep[pair.to_neutral[e_frames]].T)
        emotion, intensity = emotional.domain
        fields["condition"].append(condition_vector(emotion, INTENSITY_ALPHA[intensity]))
        fields["domain"].append(domain_index(emotion, intensity))
    return Batch(**{k: np.stack(v) for k, v in fields.items()})
