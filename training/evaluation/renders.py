"""The evaluation's unit of work: render one take by one recipe, then measure the audio.

A job names a take, the condition it is heard in (:mod:`training.evaluation.sets`), a recipe
(the take itself, the engine's resynthesis, a conversion, an F0-only conversion) and what
to measure; its :class:`Record` holds the judge's functionals, DNSMOS, the distances to
reference takes and the median log-F0, never the audio, so that jobs can run in worker
processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

from rtconvert.config import FeatureConfig
from rtconvert.dsp.features import WorldFeatures, analyze
from rtconvert.offline.audiofile import load_audio

from ..index import corpus_folders, resolve
from .conversions import cached_bundle, convert, resynthesize
from .judge import FunctionalsCache
from .measures import Distances, compare, dnsmos
from .sets import CLEAN, Condition

FloatArray = npt.NDArray[np.float64]

#: How a take becomes the audio that is judged.
RECIPES = ("source", "resynthesis", "convert", "f0_only")


@dataclass(frozen=True)
class RenderJob:
    """One audio to make and measure (picklable, for worker processes)."""

    root: str
    bundle_path: str
    cache_dir: str | None
    feature_sets: tuple[str, ...]  # openSMILE functionals the judge needs
    take: str  # filepath of the take, relative to root
    recipe: str  # one of RECIPES
    emotion: str = "neutral"  # the conversion's target (convert, f0_only)
    intensity: float = 0.0  # the conversion's intensity (convert)
    quality: bool = False  # compute DNSMOS
    references: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (emotion, reference takes)
    condition: Condition = CLEAN  # how the take (and its references) are heard
    pitch: bool = False  # measure the output's median log-F0

    @property
    def key(self) -> tuple[str, str, str, str, float]:
        return self.condition.name, self.recipe, self.take, self.emotion, self.intensity


@dataclass
class Record:
    """What was measured on one rendered audio."""

    key: tuple[str, str, str, str, float]  # RenderJob.key
    functionals: dict[str, FloatArray]  # feature set -> (n_features,)
    dnsmos: dict[str, float] | None = None  # ovrl, sig, bak, p808
    peak: float = 0.0  # largest absolute sample
    distances: dict[str, list[Distances]] = field(default_factory=dict)  # emotion -> per reference
    lf0_median: float | None = None  # median natural-log F0 of the voiced frames (offline
    # WORLD): robust to the octave errors DIO makes on a few frames of converted speech


def _path(root: str, take: str) -> Path:
    return resolve(Path(root), take, corpus_folders(Path(root)))


def take_samples(root: str, take: str, sample_rate: int, condition: Condition = CLEAN
                 ) -> FloatArray:
    """A take at ``sample_rate`` as heard in ``condition``."""
    samples = load_audio(_path(root, take), sample_rate).samples
    return samples if condition == CLEAN else condition.apply(samples, take, sample_rate)


@lru_cache(maxsize=512)
def measuring_config(root: str, take: str, bundle_path: str) -> FeatureConfig:
    """The analysis distances are measured with: the model's, at the take's own rate where
    that is lower. A 16 kHz corpus has nothing above 8 kHz, where the vocoder's noise would
    otherwise dominate the log-spectral distance."""
    config = cached_bundle(bundle_path).features
    rate = soundfile.info(str(_path(root, take))).samplerate
    return replace(config, sample_rate=rate) if rate < config.sample_rate else config


@lru_cache(maxsize=512)
def reference_features(root: str, take: str, bundle_path: str, condition: Condition = CLEAN
                       ) -> WorldFeatures:
    """Offline WORLD analysis of a real take as heard in ``condition``, kept per process."""
    rate = cached_bundle(bundle_path).features.sample_rate
    samples = condition.restore(take_samples(root, take, rate, condition))
    config = measuring_config(root, take, bundle_path)
    if config.sample_rate != rate:
        samples = soxr.resample(samples, rate, config.sample_rate, "HQ")
    return analyze(samples, config)


def render(job: RenderJob) -> FloatArray:
    """The audio of ``job``: its take through its recipe, shape (n_samples,)."""
    bundle = cached_bundle(job.bundle_path)
    samples = take_samples(job.root, job.take, bundle.features.sample_rate, job.condition)
    if job.recipe == "source":
        out = samples
    elif job.recipe == "resynthesis":
        out = resynthesize(samples, bundle)
    elif job.recipe in ("convert", "f0_only"):
        out = convert(samples, bundle, job.emotion, job.intensity,
                      f0_only=job.recipe == "f0_only")
    else:
        raise ValueError(f"unknown recipe {job.recipe!r}; known: {', '.join(RECIPES)}")
    return job.condition.restore(out)


def run_job(job: RenderJob) -> Record:
    """Render ``job`` and measure it: functionals always, DNSMOS and distances when asked."""
    bundle = cached_bundle(job.bundle_path)
    rate = bundle.features.sample_rate
    audio = render(job)
    cache = FunctionalsCache(Path(job.cache_dir) if job.cache_dir else None)
    record = Record(job.key, {s: cache.get(audio, rate, s) for s in job.feature_sets},
                    peak=float(np.max(np.abs(audio))))
    if job.quality:
        record.dnsmos = dnsmos(audio, rate)
    if job.references or job.pitch:
        config = measuring_config(job.root, job.take, job.bundle_path)
        heard = analyze(audio if config.sample_rate == rate else
                        soxr.resample(audio, rate, config.sample_rate, "HQ"), config)
        record.distances = {
            emotion: [compare(heard, reference_features(job.root, take, job.bundle_path,
                                                        job.condition))
                      for take in takes]
            for emotion, takes in job.references}
        voiced = heard.f0_hz > 0
        record.lf0_median = float(np.median(np.log(heard.f0_hz[voiced]))) if voiced.any() else None
    return record
