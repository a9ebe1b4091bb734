"""The evaluation's unit of work: render one take by one recipe, then measure the audio.

A job names a take, a recipe (the take itself, the engine's resynthesis, a conversion,
an F0-only conversion) and what to measure; its :class:`Record` holds the judge's
functionals, DNSMOS and the distances to reference takes, never the audio, so that
jobs can run in worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rtconvert.dsp.features import WorldFeatures, analyze
from rtconvert.offline.audiofile import load_audio

from .conversions import cached_bundle, convert, resynthesize
from .index import corpus_folders, resolve
from .judge import FunctionalsCache
from .measures import Distances, compare, dnsmos

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

    @property
    def key(self) -> tuple[str, str, str, float]:
        return self.recipe, self.take, self.emotion, self.intensity


@dataclass
class Record:
    """What was measured on one rendered audio."""

    key: tuple[str, str, str, float]  # RenderJob.key
    functionals: dict[str, FloatArray]  # feature set -> (n_features,)
    dnsmos: dict[str, float] | None = None  # ovrl, sig, bak, p808
    peak: float = 0.0  # largest absolute sample
    distances: dict[str, list[Distances]] = field(default_factory=dict)  # emotion -> per reference


def _take_samples(root: str, take: str, sample_rate: int) -> FloatArray:
    path = resolve(Path(root), take, corpus_folders(Path(root)))
    return load_audio(path, sample_rate).samples


@lru_cache(maxsize=512)
def reference_features(root: str, take: str, bundle_path: str) -> WorldFeatures:
    """Offline WORLD analysis of a real take, kept per process."""
    config = cached_bundle(bundle_path).features
    return analyze(_take_samples(root, take, config.sample_rate), config)


def render(job: RenderJob) -> FloatArray:
    """The audio of ``job``: its take through its recipe, shape (n_samples,)."""
    bundle = cached_bundle(job.bundle_path)
    samples = _take_samples(job.root, job.take, bundle.features.sample_rate)
    if job.recipe == "source":
        return samples
    if job.recipe == "resynthesis":
        return resynthesize(samples, bundle)
    if job.recipe in ("convert", "f0_only"):
        return convert(samples, bundle, job.emotion, job.intensity, f0_only=job.recipe == "f0_only")
    raise ValueError(f"unknown recipe {job.recipe!r}; known: {', '.join(RECIPES)}")


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
    if job.references:
        heard = analyze(audio, bundle.features)
        record.distances = {
            emotion: [compare(heard, reference_features(job.root, take, job.bundle_path))
                      for take in takes]
            for emotion, takes in job.references}
    return record
