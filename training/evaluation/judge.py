"""Emotion judge: openSMILE functionals z-scored per speaker set, grouped-CV logistic regression."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rtconvert.errors import ConfigError

from ..corpus import EMOTIONS

FloatArray = npt.NDArray[np.float64]

#: openSMILE functionals the judge may use: name -> ``opensmile.FeatureSet`` member.
FEATURE_SETS = {"egemaps": "eGeMAPSv02", "compare": "ComParE_2016"}
#: The judge's classes, in the order of its probability columns.
CLASSES = EMOTIONS
#: A feature whose spread within a set is below this (relative to its size) is constant there.
_CONSTANT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class JudgeConfig:
    """What cross-validation chooses among, and how it is scored."""

    # Candidate combinations of FEATURE_SETS, each concatenated. ComParE earns its cost: the
    # best grouped-CV accuracy was 0.547 with eGeMAPS alone, 0.602 with ComParE, 0.606 with both.
    feature_sets: tuple[tuple[str, ...], ...] = (("egemaps",), ("compare",),
                                                 ("egemaps", "compare"))
    # Candidate inverse regularisation strengths of the logistic regression.
    c_values: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1)
    # Folds of GroupKFold over speakers (at most the number of speakers).
    n_folds: int = 4
    # lbfgs iterations; the standardised problem converges well before.
    max_iter: int = 3000

    def __post_init__(self) -> None:
        unknown = {s for combo in self.feature_sets for s in combo} - set(FEATURE_SETS)
        if unknown:
            raise ValueError(f"unknown feature sets {sorted(unknown)}; "
                             f"known: {sorted(FEATURE_SETS)}")
        if not self.c_values or min(self.c_values) <= 0:
            raise ValueError(f"c_values must be positive, got {self.c_values}")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {self.n_folds}")


# -- features -------------------------------------------------------------------------


@cache
def _smile(feature_set: str) -> Any:
    import opensmile

    return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, FEATURE_SETS[feature_set]),
                           feature_level=opensmile.FeatureLevel.Functionals)


def functionals(samples: FloatArray, sample_rate: int, feature_set: str) -> FloatArray:
    """openSMILE functionals of one utterance.

    Parameters
    ----------
    samples : ndarray, shape (n_samples,)
        Mono speech.
    sample_rate : int
        Rate of ``samples`` in Hz.
    feature_set : str
        A key of ``FEATURE_SETS``.

    Returns
    -------
    ndarray, shape (n_features,)
        88 values for eGeMAPS, 6373 for ComParE.
    """
    table = _smile(feature_set).process_signal(np.asarray(samples, dtype=np.float32), sample_rate)
    return table.to_numpy(dtype=np.float64)[0]


def audio_key(samples: FloatArray, sample_rate: int, feature_set: str) -> str:
    """Content hash of the audio (as float32) and the feature set: the cache key."""
    digest = hashlib.sha1(np.ascontiguousarray(samples, dtype=np.float32).tobytes())
    digest.update(f"{sample_rate}:{feature_set}".encode())
    return digest.hexdigest()


class FunctionalsCache:
    """:func:`functionals` remembered on disk, one ``.npy`` per audio content and feature set.

    Parameters
    ----------
    directory : Path or None
        Where the files go; ``None`` computes every time.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def get(self, samples: FloatArray, sample_rate: int, feature_set: str) -> FloatArray:
        """The functionals of ``samples``, from disk when computed before."""
        if self.directory is None:
            return functionals(samples, sample_rate, feature_set)
        key = audio_key(samples, sample_rate, feature_set)
        path = self.directory / feature_set / key[:2] / f"{key}.npy"
        if path.is_file():
            return np.load(path)
        values = functionals(samples, sample_rate, feature_set)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        with open(partial, "wb") as handle:
            np.save(handle, values)
        os.replace(partial, path)
        return values


# -- per-speaker normalisation -------------------------------------------------------------


def zscore_by_group(x: FloatArray, groups: Sequence[Any], reference: FloatArray | None = None,
                    reference_groups: Sequence[Any] | None = None) -> FloatArray:
    """Z-score each row with the mean and standard deviation of its group.

    Parameters
    ----------
    x : ndarray, shape (n_rows, n_features)
    groups : sequence of hashable, length n_rows
        The set each row is judged in, e.g. ``(speaker, system)``.
    reference, reference_groups : optional
        Rows (n_reference, n_features) and their groups whose statistics z-score the
        rows of the same group instead of the rows themselves (a speaker's real takes
        as the yardstick of converted ones). Default: each group's own rows.

    Returns
    -------
    ndarray, shape (n_rows, n_features)
        A feature constant within a group (or NaN throughout it) becomes 0 there.
    """
    x = np.asarray(x, dtype=np.float64)
    if reference is None:
        reference, reference_groups = x, groups
    reference = np.asarray(reference, dtype=np.float64)
    index: dict[Any, int] = {}
    codes = np.array([index.setdefault(g, len(index)) for g in groups], dtype=np.int64)
    reference_codes = np.array([index.get(g, -1) for g in reference_groups], dtype=np.int64)
    missing = set(range(len(index))) - set(reference_codes.tolist())
    if missing:
        names = [g for g, code in index.items() if code in missing]
        raise ValueError(f"no reference rows for groups {names[:3]}")
    z = np.zeros_like(x)
    for code in range(len(index)):
        rows, own = codes == code, reference[reference_codes == code]
        with warnings.catch_warnings():  # all-NaN columns: their mean and spread are NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nan_to_num(np.nanmean(own, axis=0))
            std = np.nan_to_num(np.nanstd(own, axis=0))
        constant = std <= _CONSTANT_TOLERANCE * (1.0 + np.abs(mean))
        z[rows] = np.where(constant, 0.0, (x[rows] - mean) / np.where(constant, 1.0, std))
    return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass(frozen=True)
class Reference:
    """Rows whose per-group statistics z-score the judged rows (see :func:`zscore_by_group`)."""

    features: dict[str, FloatArray]  # feature set -> (n_reference, n_features)
    groups: list[Any]  # length n_reference


def judge_inputs(features: dict[str, FloatArray], feature_sets: tuple[str, ...],
                 groups: Sequence[Any], reference: Reference | None = None) -> FloatArray:
    """The chosen feature sets, each z-scored per group, side by side; (n_rows, n_inputs)."""
    if reference is None:
        return np.concatenate([zscore_by_group(features[s], groups) for s in feature_sets],
                              axis=1)
    return np.concatenate([zscore_by_group(features[s], groups, reference.features[s],
                                           reference.groups) for s in feature_sets], axis=1)


# -- the classifier ----------------------------------------------------------------------


def make_classifier(c: float, max_iter: int = 3000) -> Any:
    """StandardScaler + multinomial logistic regression (lbfgs fits the multinomial loss)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))


def grouped_cv_accuracy(x: FloatArray, labels: Sequence[str], speakers: Sequence[str], c: float,
                        n_folds: int, score_rows: npt.NDArray[np.bool_] | None = None,
                        max_iter: int = 3000) -> float:
    """Accuracy on speakers held out by GroupKFold, pooled over the folds.

    Parameters
    ----------
    x : ndarray, shape (n_rows, n_inputs)
        The judge's inputs (already z-scored per set).
    labels, speakers : sequence of str, length n_rows
    c : float
        Inverse regularisation strength.
    n_folds : int
        Folds; at most the number of speakers.
    score_rows : ndarray of bool, shape (n_rows,), optional
        Held-out rows that count (default all); every training-fold row is fitted on.
    max_iter : int
    """
    from sklearn.model_selection import GroupKFold

    labels, speakers = np.asarray(labels), np.asarray(speakers)
    score_rows = np.ones(len(labels), bool) if score_rows is None else score_rows
    folds = GroupKFold(n_splits=min(n_folds, len(np.unique(speakers))))
    hits = total = 0
    for train, test in folds.split(x, labels, speakers):
        test = test[score_rows[test]]
        model = make_classifier(c, max_iter).fit(x[train], labels[train])
        hits += int(np.sum(model.predict(x[test]) == labels[test]))
        total += len(test)
    return hits / max(total, 1)


@dataclass
class Judge:
    """A fitted judge and how it was chosen.

    It hears how a take differs from the same speaker's other takes: every utterance's
    functionals are z-scored with the mean and standard deviation of the set it is judged
    in (one speaker's takes, or one speaker's outputs of one system); a standardised
    multinomial logistic regression then gives the probability of each of ``CLASSES``.
    """

    feature_sets: tuple[str, ...]
    c: float
    pipeline: Any  # the fitted sklearn Pipeline
    cv_accuracy: float  # of the chosen candidate, on held-out training speakers
    cv_table: list[dict[str, Any]] = field(default_factory=list)  # every candidate's score
    info: dict[str, Any] = field(default_factory=dict)  # what it was trained on

    def probabilities(self, features: dict[str, FloatArray], groups: Sequence[Any],
                      reference: Reference | None = None) -> FloatArray:
        """Probability of each of ``CLASSES`` per row, z-scoring within ``groups``.

        Parameters
        ----------
        features : dict of str to ndarray, shape (n_rows, n_features)
            Raw functionals, at least of ``self.feature_sets``.
        groups : sequence of hashable, length n_rows
            The set each row is judged in.
        reference : Reference, optional
            Whose statistics z-score each group (default: the group's own rows).

        Returns
        -------
        ndarray, shape (n_rows, len(CLASSES))
            Columns in the order of ``CLASSES``; a class the judge never saw has 0.
        """
        known = self.pipeline.predict_proba(judge_inputs(features, self.feature_sets, groups,
                                                         reference))
        columns = [list(CLASSES).index(c) for c in self.pipeline.classes_]
        out = np.zeros((known.shape[0], len(CLASSES)))
        out[:, columns] = known
        return out


def fit_judge(features: dict[str, FloatArray], labels: Sequence[str], speakers: Sequence[str],
              groups: Sequence[Any], config: JudgeConfig = JudgeConfig(),
              score_rows: npt.NDArray[np.bool_] | None = None) -> Judge:
    """Choose feature sets and C by speaker-grouped CV, then fit on all rows.

    Parameters
    ----------
    features : dict of str to ndarray, shape (n_rows, n_features)
        Raw functionals for every feature set that ``config`` names.
    labels : sequence of str, length n_rows
        The emotion of each row, from ``CLASSES``.
    speakers : sequence of str, length n_rows
        CV folds never split a speaker.
    groups : sequence of hashable, length n_rows
        The z-scoring set of each row (e.g. ``(speaker, material)``).
    config : JudgeConfig
    score_rows : ndarray of bool, shape (n_rows,), optional
        Rows that count in the CV score (default all).
    """
    from threadpoolctl import threadpool_limits

    labels = np.asarray(labels)
    table = []
    # One BLAS thread: on this shared 2-core host an lbfgs fit on 1920 x 88 inputs took
    # 5.2 s with OpenBLAS's two threads spinning against other work, 0.4 s with one.
    with threadpool_limits(limits=1):
        for combo in config.feature_sets:
            x = judge_inputs(features, combo, groups)
            for c in config.c_values:
                accuracy = grouped_cv_accuracy(x, labels, speakers, c, config.n_folds,
                                               score_rows=score_rows, max_iter=config.max_iter)
                table.append({"feature_sets": "+".join(combo), "c": c, "cv_accuracy": accuracy})
        best = max(table, key=lambda row: row["cv_accuracy"])
        combo = tuple(best["feature_sets"].split("+"))
        pipeline = make_classifier(best["c"], config.max_iter).fit(
            judge_inputs(features, combo, groups), labels)
    return Judge(combo, best["c"], pipeline, best["cv_accuracy"], table)


def save_judge(judge: Judge, path: Path) -> None:
    """Write a fitted judge atomically (joblib)."""
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    joblib.dump(judge, partial)
    os.replace(partial, path)


def load_judge(path: Path) -> Judge:
    """A judge written by :func:`save_judge`."""
    import joblib

    judge = joblib.load(path)
    if not isinstance(judge, Judge):
        raise ConfigError(f"{path}: not a fitted judge (found {type(judge).__name__})")
    return judge
