"""Training data from the feature cache: generator inputs, DTW-aligned pairs with targets, batches.

RAVDESS is parallel: every actor says both sentences neutrally and in every emotion.
Each take becomes the generator's inputs (:func:`rtconvert.modelio.model_inputs`) under
its speaker's *neutral* statistics, as the live engine would see that speaker. Each
(neutral, emotional) pair of one speaker and sentence is aligned by DTW once; the target
of a neutral frame is what turns it into its aligned emotional frame, in the generator's
output units, with the speaker's own mean shifts of log-F0 and energy taken out: the
runtime applies the emotion's average shifts itself (:mod:`rtconvert.engine.prosody`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtconvert.engine.prosody import mixture_shift
from rtconvert.errors import ConfigError
from rtconvert.modelio import (
    DB_PER_LOG_POWER,
    EmotionShift,
    Layout,
    Normalization,
    SpeakerLevels,
    model_inputs,
)
from rtconvert.settings import NEUTRAL, choices

from .corpus import INTENSITY_NAMES, Utterance
from .extract import feature_path, load_features
from .stats import speech_mask

#: Frames kept around the speech part when trimming silence.
TRIM_MARGIN = 10


@dataclass
class Take:
    """One utterance, silence-trimmed, as generator inputs."""

    utterance: Utterance
    group: str  # speaker and augmentation variant: whose statistics apply
    inputs: np.ndarray  # (n_inputs, n_frames), float32, under the group's neutral statistics

    @property
    def domain(self) -> tuple[str, str]:
        return self.utterance.emotion, INTENSITY_NAMES[self.utterance.intensity]


def _levels(f0_hz: list[np.ndarray], mcep: list[np.ndarray]) -> SpeakerLevels | None:
    """One speaker's levels in one domain, over the voiced frames of its takes."""
    f0, spectrum = np.concatenate(f0_hz), np.concatenate(mcep)
    voiced = f0 > 0
    if voiced.sum() < 2:
        return None
    lf0 = np.log(f0[voiced])
    return SpeakerLevels(float(lf0.mean()), float(max(lf0.std(), 1e-3)),
                         float(spectrum[voiced, 0].mean()), spectrum[voiced].mean(axis=0))


def load_takes(directories: dict[str, Path], utterances: list[Utterance], norm: Normalization
               ) -> tuple[list[Take], dict[tuple[str, str, str], SpeakerLevels]]:
    """Cached features of ``utterances`` from each variant's cache, trimmed to their speech.

    Parameters
    ----------
    directories : dict
        Variant name -> feature cache folder; every utterance is loaded from each.
    utterances : list of Utterance
    norm : Normalization

    Returns
    -------
    takes : list of Take
        Takes of speakers with neutral speech (the others can be neither source nor target).
    levels : dict
        (group, emotion, intensity) -> SpeakerLevels of the group's takes in that domain.

    Raises
    ------
    ConfigError
        If a recording has no speech at all.
    """
    loaded, pooled = [], {}
    for variant, directory in directories.items():
        for utterance in utterances:
            features = load_features(feature_path(directory, utterance))
            speech = np.flatnonzero(speech_mask(features.mcep[:, 0]))
            if not len(speech):
                raise ConfigError(f"{utterance.filepath}: no speech in the recording (silent?); "
                                  "remove it from the data")
            features = features.slice(max(0, speech[0] - TRIM_MARGIN),
                                      min(features.n_frames, speech[-1] + 1 + TRIM_MARGIN))
            group = f"{utterance.speaker}/{variant}"
            loaded.append((utterance, group, features))
            key = (group, utterance.emotion, INTENSITY_NAMES[utterance.intensity])
            f0s, mceps = pooled.setdefault(key, ([], []))
            f0s.append(features.f0_hz)
            mceps.append(features.mcep)
    levels = {key: lv for key, value in pooled.items() if (lv := _levels(*value)) is not None}
    takes = []
    for utterance, group, features in loaded:
        neutral = levels.get((group, NEUTRAL, "normal"))
        if neutral is not None:
            takes.append(Take(utterance, group, model_inputs(
                features.lf0, features.mcep, features.bap, norm, neutral)))
    return takes, levels


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Frame alignment of two feature sequences (frames in rows), (n_steps, 2) index pairs."""
    import librosa

    _, path = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    return path[::-1]


def aligned_indices(path: np.ndarray, n_frames: int, side: int = 0) -> np.ndarray:
    """For each frame of sequence ``side`` of a DTW path, the matching frame of the other."""
    other = np.zeros(n_frames, dtype=np.int64)
    other[path[:, side]] = path[:, 1 - side]  # the last match of each frame wins
    return other


def pair_target(source: np.ndarray, aligned: np.ndarray, neutral: SpeakerLevels,
                emotional: SpeakerLevels, c0_scale: float, layout: Layout
                ) -> tuple[np.ndarray, np.ndarray]:
    """The generator's ideal output for a source take, and where it is defined.

    Parameters
    ----------
    source, aligned : ndarray, shape (n_inputs, n_frames)
        Inputs of the neutral take and of the emotional frames aligned to it, both under
        the speaker's neutral statistics.
    neutral, emotional : SpeakerLevels
        The speaker's levels in the two domains.

    Returns
    -------
    target, mask : ndarray, shape (n_outputs, n_frames), float32
        Mel-cepstra and aperiodicity: the change of the normalised features. Log-F0: the
        aligned frame's z-score under its own domain's statistics minus the source's,
        where both are voiced. Energy: the change beyond the speaker's own mean change.
        Aperiodicity counts where the source is voiced.
    """
    n_frames = source.shape[1]
    target = np.zeros((layout.n_outputs, n_frames), dtype=np.float32)
    mask = np.ones_like(target)
    target[layout.mcep] = aligned[layout.mcep] - source[layout.mcep]
    voiced = (source[layout.voiced] > 0) & (aligned[layout.voiced] > 0)
    absolute = aligned[layout.lf0] * neutral.lf0_std + neutral.lf0_mean
    own_z = (absolute - emotional.lf0_mean) / emotional.lf0_std
    target[layout.lf0] = np.where(voiced, own_z - source[layout.lf0], 0.0)
    mask[layout.lf0] = voiced
    target[layout.c0_out] = (aligned[layout.c0_in] - source[layout.c0_in]
                             - (emotional.c0_mean - neutral.c0_mean) / c0_scale)
    target[layout.bap_out] = aligned[layout.bap_in] - source[layout.bap_in]
    mask[layout.bap_out] = source[layout.voiced] > 0
    return target, mask


@dataclass
class Pair:
    """A neutral and an emotional take of one speaker and sentence, with the training target."""

    neutral: int  # index into the takes
    emotional: int
    to_emotional: np.ndarray  # (n_neutral_frames,) matching emotional frame
    target: np.ndarray  # (n_outputs, n_neutral_frames)
    mask: np.ndarray  # (n_outputs, n_neutral_frames)


def parallel_pairs(takes: list[Take], levels: dict[tuple[str, str, str], SpeakerLevels],
                   c0_scale: float, layout: Layout) -> list[Pair]:
    """Every neutral/emotional pair of the same group and sentence, DTW-aligned on mel-cepstra."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for i, take in enumerate(takes):
        by_key.setdefault((take.group, take.utterance.sentence), []).append(i)
    pairs = []
    for (group, _), indices in by_key.items():
        neutral_levels = levels[(group, NEUTRAL, "normal")]
        for n in (i for i in indices if takes[i].utterance.emotion == NEUTRAL):
            for e in (i for i in indices if takes[i].utterance.emotion != NEUTRAL):
                emotional_levels = levels.get((group, *takes[e].domain))
                if emotional_levels is None:
                    continue
                source, other = takes[n].inputs, takes[e].inputs
                path = dtw_path(source[layout.mcep].T, other[layout.mcep].T)
                to_emotional = aligned_indices(path, source.shape[1])
                target, mask = pair_target(source, other[:, to_emotional], neutral_levels,
                                           emotional_levels, c0_scale, layout)
                pairs.append(Pair(n, e, to_emotional, target, mask))
    return pairs


@dataclass
class Batch:
    """Segments of random pairs; arrays are (batch, channels, segment_frames) unless noted."""

    source: np.ndarray  # generator inputs of neutral segments
    target: np.ndarray  # the generator's ideal outputs for them
    mask: np.ndarray  # where the target counts
    aligned: np.ndarray  # inputs of the emotional frames aligned to the source frames
    real: np.ndarray  # an emotional segment of the same take, as inputs (for classifiers)
    condition: np.ndarray  # (batch, n_emotions): the intensity on the pair's emotion
    label: np.ndarray  # (batch,): index of the pair's (first) emotion in ``classes``
    heard_as: np.ndarray  # (batch, n_classes): how much of each class the output should be
    shift: np.ndarray  # (batch, 3): the runtime's log-F0 shift (z), spread ratio, energy shift


def _crop(length: int, segment: int, rng: np.random.Generator) -> np.ndarray:
    """Frame indices of a random crop, repeating the last frame if the take is short."""
    start = rng.integers(0, max(1, length - segment + 1))
    return np.minimum(np.arange(start, start + segment), length - 1)


def mixing_partners(takes: list[Take], pairs: list[Pair]) -> list[np.ndarray]:
    """Per pair, the pairs of the same neutral take toward another emotion: what it can mix with."""
    by_neutral: dict[int, list[int]] = {}
    for i, pair in enumerate(pairs):
        by_neutral.setdefault(pair.neutral, []).append(i)
    emotion = [takes[p.emotional].utterance.emotion for p in pairs]
    return [np.array([j for j in by_neutral[p.neutral] if emotion[j] != emotion[i]], dtype=int)
            for i, p in enumerate(pairs)]


#: The weight of a mixed item's first emotion is drawn from this range (the second has the rest).
MIX_WEIGHTS = (0.25, 0.75)


@dataclass(frozen=True)
class Mixing:
    """Which share of a batch's items asks for two emotions at once, and with which pairs."""

    fraction: float  # of the items whose neutral take has a partner
    partners: list[np.ndarray]  # per pair, from :func:`mixing_partners`
    voiced: int  # the inputs' voiced-flag channel (``Layout.voiced``)


def sample_batch(takes: list[Take], pairs: list[Pair], batch_size: int, segment: int,
                 condition: ConditionMap, rng: np.random.Generator,
                 mixing: Mixing | None = None) -> Batch:
    """Random segments of ``batch_size`` random pairs.

    With ``mixing``, a share of the items asks for a mixture of two emotions, as the
    runtime's ``happy=0.6,surprised=0.4`` does: the condition, the target, the aligned
    frames and what the output should be heard as are both pairs' weighed by the mixture;
    the shift is the runtime's, each emotion's at its weight, summed. Without it the
    random draws are those of a run that never mixed.
    """
    fields: dict[str, list] = {k: [] for k in Batch.__dataclass_fields__}
    for index in rng.integers(0, len(pairs), batch_size):
        pair = pairs[index]
        neutral, emotional = takes[pair.neutral], takes[pair.emotional]
        frames = _crop(neutral.inputs.shape[1], segment, rng)
        fields["source"].append(neutral.inputs[:, frames])
        fields["real"].append(emotional.inputs[:, _crop(emotional.inputs.shape[1], segment, rng)])
        label = condition.classes.index(emotional.utterance.emotion)
        fields["label"].append(label)
        mixed = (mixing is not None and mixing.partners[index].size > 0
                 and rng.random() < mixing.fraction)
        if not mixed:
            fields["target"].append(pair.target[:, frames])
            fields["mask"].append(pair.mask[:, frames])
            fields["aligned"].append(emotional.inputs[:, pair.to_emotional[frames]])
            fields["condition"].append(condition.vector(*emotional.domain))
            fields["heard_as"].append(np.eye(len(condition.classes), dtype=np.float32)[label])
            fields["shift"].append(condition.shift(neutral.group, *emotional.domain))
            continue
        other = pairs[rng.choice(mixing.partners[index])]
        weight = rng.uniform(*MIX_WEIGHTS)
        second = takes[other.emotional]
        a, b = (emotional.inputs[:, pair.to_emotional[frames]],
                second.inputs[:, other.to_emotional[frames]])
        aligned = (weight * a + (1 - weight) * b).astype(np.float32)
        voiced = mixing.voiced  # log-F0 means something where both are voiced
        aligned[voiced] = a[voiced] * b[voiced]
        fields["target"].append((weight * pair.target[:, frames]
                                 + (1 - weight) * other.target[:, frames]).astype(np.float32))
        fields["mask"].append(pair.mask[:, frames] * other.mask[:, frames])
        fields["aligned"].append(aligned)
        vector, shift, heard_as = condition.mixture(
            neutral.group, ((emotional.domain, weight), (second.domain, 1 - weight)))
        fields["condition"].append(vector)
        fields["heard_as"].append(heard_as)
        fields["shift"].append(shift)
    return Batch(**{k: np.stack(v) for k, v in fields.items()})


class ConditionMap:
    """Emotions, intensities and the runtime's average shifts, as the generator is conditioned.

    Parameters
    ----------
    emotions : tuple of str
        The generator's emotions, in the order of its condition vector.
    intensity_scale : dict
        Corpus intensity name -> the generator's intensity (e.g. normal 0.5, strong 1.0).
    shifts : dict
        (emotion, intensity name) -> the corpus average shift the runtime applies there.
    neutral_levels : dict
        Group -> its neutral SpeakerLevels (to express the log-F0 shift in the group's z-units).
    c0_scale : float
    """

    def __init__(self, emotions: tuple[str, ...], intensity_scale: dict[str, float],
                 shifts: dict[tuple[str, str], EmotionShift],
                 neutral_levels: dict[str, SpeakerLevels], c0_scale: float) -> None:
        self.emotions, self.intensity_scale = emotions, intensity_scale
        self.classes = choices(emotions)
        self.shifts, self.neutral_levels, self.c0_scale = shifts, neutral_levels, c0_scale
        # Per emotion, its shifts by increasing intensity: the prosody stage's anchors.
        self.anchors = {e: sorted((intensity_scale[name], shift)
                                  for (emotion, name), shift in shifts.items() if emotion == e)
                        for e in emotions}

    def vector(self, emotion: str, intensity: str) -> np.ndarray:
        """Signed intensity per emotion: (n_emotions,), zero for neutral."""
        vector = np.zeros(len(self.emotions), dtype=np.float32)
        if emotion != NEUTRAL:
            vector[self.emotions.index(emotion)] = self.intensity_scale[intensity]
        return vector

    def shift(self, group: str, emotion: str, intensity: str) -> np.ndarray:
        """(log-F0 shift in the group's neutral z-units, spread ratio, energy shift / c0_scale)."""
        return self.as_array(group, self.shifts.get((emotion, intensity), EmotionShift()))

    def mixture(self, group: str, parts: Sequence[tuple[tuple[str, str], float]]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The condition vector, shift (as :meth:`shift`) and classes to be heard as of a
        mixture of (emotion, intensity name) domains, each with its weight: as the runtime
        mixes (each emotion at its weight times its intensity; the shift
        :func:`rtconvert.engine.prosody.mixture_shift`'s)."""
        vector = np.zeros(len(self.emotions), dtype=np.float32)
        heard_as = np.zeros(len(self.classes), dtype=np.float32)
        for (emotion, intensity), weight in parts:
            heard_as[self.classes.index(emotion)] += weight
            if emotion != NEUTRAL:
                vector[self.emotions.index(emotion)] += weight * self.intensity_scale[intensity]
        shift = mixture_shift(self.anchors, zip(self.emotions, map(float, vector)))
        return vector, self.as_array(group, shift), heard_as

    def as_array(self, group: str, shift: EmotionShift) -> np.ndarray:
        """A shift as batches carry it (see :meth:`shift`)."""
        delta_c0 = shift.delta_c0_db / DB_PER_LOG_POWER
        return np.array([shift.delta_lf0 / self.neutral_levels[group].lf0_std, shift.sigma_ratio,
                         delta_c0 / self.c0_scale], dtype=np.float32)
