"""Extract WORLD features for each row of an index into an on-disk cache, in parallel and resumable.

Usage::

    rtconvert-extract --root ../shared/data --cache cache/features [--index data.csv] [--workers 2]

Each file becomes ``CACHE/<spec fingerprint>/<row path>.npz`` (f0_hz, mcep, bap), written
atomically, so a re-run skips what exists and an interrupted run resumes where it
stopped. Bad files are reported in ``failures.txt`` and skipped; they never stop the run.

A :class:`FeatureSpec` says how: offline WORLD analysis (DIO, whole file) or the live
engine's streaming analysis with its step geometry (what training uses, so the model
learns on what it gets live), each take at the front end's speech level or each speaker at
one gain (so emotions keep their loudness), optionally on speed-perturbed audio or
audio recorded in a simulated room (augmentation, :mod:`training.room`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soxr
from tqdm import tqdm

from rtconvert.cli.entry import ArgumentParser, existing_file, existing_folder, run_command
from rtconvert.config import FeatureConfig
from rtconvert.dsp.analysis import ANALYSIS_VERSION, analyze_stream
from rtconvert.dsp.denoise import VERSION as DENOISE_VERSION
from rtconvert.dsp.denoise import denoise_whole, stream_denoiser
from rtconvert.dsp.features import MIN_DURATION_S, FeatureError, WorldFeatures, analyze
from rtconvert.dsp.levels import db_to_gain
from rtconvert.dsp.normalizer import gain_for, normalize, speech_level_db
from rtconvert.errors import AudioFileError, ConfigError
from rtconvert.files import write_text
from rtconvert.offline.audiofile import load_audio
from rtconvert.settings import NEUTRAL

from .corpus import Utterance
from .index import corpus_folders, read_index, resolve, scan, write_index
from .room import ROOM_VERSION, record, seed_of, training_room

#: FeatureSpec.level's choices.
LEVELS = ("take", "speaker")


@dataclass(frozen=True)
class FeatureSpec:
    """How a cache's features were made."""

    config: FeatureConfig = field(default_factory=FeatureConfig)
    # (frames_per_step, lookahead_frames) of the streaming analyser; None: offline WORLD.
    stream: tuple[int, int] | None = None
    # Speed perturbation: the audio played this much faster (pitch and formants up alike).
    speed: float = 1.0
    # Room augmentation: every speaker recorded in a room of its own drawn from this seed
    # (reverberation, mic band, noise, hum, gain; training.room); None: as recorded.
    room: int | None = None
    # The gain before a streaming analysis: "take" brings each take to the front end's speech
    # level (what file conversion does); "speaker" gives all of a speaker's takes one gain,
    # from its neutral takes, so an emotion keeps its loudness relative to neutral speech.
    level: str = "take"
    # The live front end's noise suppression before the streaming analysis (rtconvert.dsp.denoise).
    denoise: bool = False

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level is {self.level!r}; expected one of {', '.join(LEVELS)}")

    def describe(self) -> dict:
        described = {"feature_config": self.config.to_dict(), "stream": self.stream,
                     "speed": self.speed,
                     "analysis_version": ANALYSIS_VERSION if self.stream is not None else None}
        # Only where set: the caches made before rooms and speaker levels keep their names.
        if self.room is not None:
            described.update(room=self.room, room_version=ROOM_VERSION)
        if self.level != "take":
            described.update(level=self.level)
        if self.denoise:
            described.update(denoise=DENOISE_VERSION)
        return described

    def prepare(self, samples: np.ndarray, utterance: Utterance | None = None) -> np.ndarray:
        """The signal as the analysis gets it: in the room, at the speed, through the noise
        suppressor (not yet its gain)."""
        rate = self.config.sample_rate
        if self.room is not None:
            if utterance is None:
                raise ValueError("a room-augmented analysis needs the utterance")
            samples = record(samples, training_room(self.room, utterance.speaker, rate),
                             seed_of("rtconvert-train noise", self.room, utterance.filepath))
        if self.speed != 1.0:
            samples = soxr.resample(samples, rate, round(rate / self.speed), quality="HQ")
        if self.denoise and self.stream is not None:  # as the engine: before its gain
            samples = denoise_whole(samples, stream_denoiser(self.config, *self.stream))
        return samples

    def analyze(self, samples: np.ndarray, utterance: Utterance | None = None,
                gain_db: float | None = None) -> WorldFeatures:
        """Features of a signal at ``config.sample_rate`` (``utterance``: whose, for rooms).

        ``gain_db``: the speaker's gain for a "speaker" level; None brings the take itself to
        the front end's speech level (as a primed engine hears it).
        """
        rate = self.config.sample_rate
        samples = self.prepare(samples, utterance)
        if len(samples) < MIN_DURATION_S * rate:
            raise FeatureError(f"too short: {len(samples) / rate:.3f} s, "
                               f"need at least {MIN_DURATION_S} s")
        if self.stream is None:
            return analyze(samples, self.config)
        if gain_db is None:
            return analyze_stream(normalize(samples, rate), self.config, *self.stream)
        return analyze_stream(samples * db_to_gain(gain_db), self.config, *self.stream)


def fingerprint(spec: FeatureSpec) -> str:
    """Short stable hash of the feature settings: a cache folder per specification."""
    described = spec.describe()
    if spec.stream is None and spec.speed == 1.0:  # the original offline caches keep their name
        described = spec.config.to_dict()
    text = json.dumps(described, sort_keys=True)
    return "world-" + hashlib.sha1(text.encode()).hexdigest()[:10]


def cache_dir(cache_root: str | Path, spec: FeatureSpec) -> Path:
    return Path(cache_root) / fingerprint(spec)


def feature_path(directory: Path, utterance: Utterance) -> Path:
    return directory / Path(utterance.filepath).with_suffix(".npz")


def save_features(path: Path, features: WorldFeatures) -> None:
    """Write atomically: a killed run never leaves a half-written cache file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.partial")
    with open(partial, "wb") as handle:
        np.savez(handle, f0_hz=features.f0_hz, mcep=features.mcep.astype(np.float32),
                 bap=features.bap.astype(np.float32))
    os.replace(partial, path)


def load_features(path: str | Path) -> WorldFeatures:
    with np.load(path) as data:
        return WorldFeatures(data["f0_hz"].astype(np.float64), data["mcep"].astype(np.float64),
                             data["bap"].astype(np.float64))


@dataclass(frozen=True)
class _Job:
    utterance: Utterance
    source: Path | None
    target: Path
    gain_db: float | None = None  # the speaker's gain (FeatureSpec.level "speaker")


def _extract_one(job: _Job, spec: FeatureSpec) -> tuple[Utterance, str | None]:
    """Worker: analyse one file; returns an error message instead of raising."""
    if job.source is None:
        return job.utterance, "file not found under the root"
    try:
        audio = load_audio(job.source, spec.config.sample_rate)
        features = spec.analyze(audio.samples, job.utterance, job.gain_db)
    except AudioFileError as exc:
        return job.utterance, str(exc)
    except FeatureError as exc:
        return job.utterance, f"{job.source}: {exc}"
    save_features(job.target, features)
    return job.utterance, None


def _level_one(job: _Job, spec: FeatureSpec) -> tuple[Utterance, float | None]:
    """Worker: the active speech level of one take as the analysis gets it (None: unreadable)."""
    try:
        audio = load_audio(job.source, spec.config.sample_rate)
    except AudioFileError:
        return job.utterance, None  # its analysis reports the error
    return job.utterance, speech_level_db(spec.prepare(audio.samples, job.utterance),
                                          spec.config.sample_rate)


def speaker_gains(levels: dict[Utterance, float | None]) -> dict[str, float]:
    """Speaker -> the gain that brings the median level of its neutral takes to the front
    end's speech level (speakers without a measurable neutral take are left out)."""
    by_speaker: dict[str, list[float]] = {}
    for utterance, level in levels.items():
        if utterance.emotion == NEUTRAL and level is not None:
            by_speaker.setdefault(utterance.speaker, []).append(level)
    return {speaker: gain_for(float(np.median(found))) for speaker, found in by_speaker.items()}


@dataclass
class ExtractionReport:
    directory: Path
    n_done: int
    n_cached: int
    failures: list[str]
    seconds: float


def extract(utterances: list[Utterance], root: str | Path, cache_root: str | Path,
            spec: FeatureSpec, workers: int | None = None,
            progress: bool = True) -> ExtractionReport:
    """Analyse every utterance not yet in the cache; see the module docstring."""
    root, started = Path(root), time.perf_counter()
    directory = cache_dir(cache_root, spec)
    directory.mkdir(parents=True, exist_ok=True)
    write_text(directory / "feature_config.json", json.dumps(spec.config.to_dict(), indent=2))
    write_text(directory / "spec.json", json.dumps(spec.describe(), indent=2))
    folders = corpus_folders(root)
    jobs = [_Job(u, resolve(root, u.filepath, folders), feature_path(directory, u))
            for u in utterances]
    todo = [job for job in jobs if not job.target.is_file()]
    failures, done = [], []
    workers = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        if todo and spec.level == "speaker":
            # From all of a speaker's neutral takes under the root, whichever of its takes
            # this run extracts: a cache holds one gain per speaker, whatever the split.
            speakers = {job.utterance.speaker for job in todo}
            neutral = [_Job(u, source, Path()) for u in scan(root)[0]
                       if u.speaker in speakers and u.emotion == NEUTRAL
                       and (source := resolve(root, u.filepath, folders)) is not None]
            gains = speaker_gains(dict(pool.map(_level_one, neutral, [spec] * len(neutral))))
            # A speaker with no neutral take to measure: each take at the speech level.
            todo = [replace(job, gain_db=gains.get(job.utterance.speaker)) for job in todo]
        futures = [pool.submit(_extract_one, job, spec) for job in todo]
        for future in tqdm(as_completed(futures), total=len(futures), disable=not progress,
                           desc="WORLD features", unit="file"):
            utterance, error = future.result()
            if error:
                failures.append(f"{utterance.filepath}: {error}")
            else:
                done.append(utterance)
    failed = {line.split(": ", 1)[0] for line in failures}
    write_index(directory / "index.csv", [j.utterance for j in jobs
                                          if j.utterance.filepath not in failed
                                          and j.target.is_file()])
    write_text(directory / "failures.txt", "".join(line + "\n" for line in sorted(failures)))
    return ExtractionReport(directory, len(done), len(jobs) - len(todo), sorted(failures),
                            time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="rtconvert-extract", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="dataset root folder")
    parser.add_argument("--index", type=Path, help="data.csv-style index (default: scan ROOT)")
    parser.add_argument("--cache", type=Path, default=Path("cache/features"))
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args(argv)
    existing_folder(args.root, "--root")
    if args.index:
        existing_file(args.index, "--index")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers is {args.workers}, need at least 1")
    if args.index:
        utterances = read_index(args.index)
    else:
        utterances, _ = scan(args.root)
    report = extract(utterances, args.root, args.cache, FeatureSpec(), args.workers)
    print(f"{report.directory}: {report.n_done} extracted, {report.n_cached} already cached, "
          f"{len(report.failures)} failed, {report.seconds:.1f} s")
    for line in report.failures[:20]:
        print(f"  {line}")
    if len(report.failures) > 20:
        print(f"  ... {len(report.failures) - 20} more in {report.directory / 'failures.txt'}")
    return 0


if __name__ == "__main__":  # python -m, as the console script: one error path
    sys.exit(run_command("rtconvert-extract", main))
