"""Latency benchmark: stream speech through the engine as fast as one thread can, and time it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

from ..bundle import Bundle
from ..dsp.features import analyze, synthesize
from ..engine.engine import Engine
from ..engine.stagetimes import STAGES
from ..errors import RtconvertError
from ..offline.audiofile import load_audio
from ..profiles import LatencyProfile
from ..settings import Settings

FloatArray = npt.NDArray[np.float64]

BENCH_TEXT = ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue "
              "background. It is easy to tell the depth of a well.")


def bench_speech(seconds: float, rate: int, source: Path | None = None) -> FloatArray:
    """``seconds`` of speech at ``rate``: a recording, or espeak-ng's, repeated as needed."""
    if source is None:
        if shutil.which("espeak-ng") is None:
            raise RtconvertError("espeak-ng is not installed; give a recording with --input")
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "speech.wav"
            subprocess.run(["espeak-ng", "-w", str(source), BENCH_TEXT], check=True)
            speech = load_audio(source, rate).samples
    else:
        speech = load_audio(source, rate).samples
    speech = 0.3 * speech / max(1e-9, float(np.max(np.abs(speech))))
    repeats = int(np.ceil(seconds * rate / len(speech)))
    return np.tile(speech, repeats)[:int(seconds * rate)]


@dataclass(frozen=True)
class BenchCase:
    """One benchmark run's conditions."""

    block: int = 256
    rate: int = 48000
    emotion: str = "angry"
    intensity: float = 1.0
    profile: LatencyProfile | None = None  # None: the profile the bundle was trained on
    denoise: bool | None = None  # None: as the bundle was trained


#: Cases measured in one run take turns on the speech in chunks this long, so that a
#: change in the machine's load (other processes) weighs on each of them alike.
TURN_S = 0.5


def run_bench(bundle: Bundle, speech: FloatArray, case: BenchCase) -> dict[str, Any]:
    """Stream ``speech`` (at ``case.rate``) through a fresh engine; timings and latency."""
    return run_benches([(bundle, case)], speech)[0]


def run_benches(cases: Sequence[tuple[Bundle, BenchCase]], speech: FloatArray
                ) -> list[dict[str, Any]]:
    """Stream ``speech`` through a fresh engine per case, the cases taking turns (``TURN_S``).

    Returns one result per case: latency, real-time factor and block and step times.
    ``offline_world_ratio`` divides an engine's time by that of a plain offline WORLD
    round trip (analysis and pyworld synthesis) of the same speech at the model rate,
    measured here in the same run.
    """
    runs = [_Run(bundle, case) for bundle, case in cases]
    rate = cases[0][1].rate
    turn = max(1, round(TURN_S * rate))
    for stop in range(turn, len(speech) + turn, turn):
        for run in runs:
            run.advance(speech, min(stop, len(speech)))
    offline_s = _offline_world_s(cases[0][0], speech, rate)
    return [run.result(offline_s) for run in runs]


class _Run:
    """One case's engine and the times of its blocks."""

    def __init__(self, bundle: Bundle, case: BenchCase) -> None:
        self.bundle, self.case = bundle, case
        self.engine = Engine(bundle, case.rate, Settings(emotion=case.emotion,
                                                         intensity=case.intensity),
                             profile=case.profile, denoise=case.denoise)
        self.engine.warm_up()
        self.position = 0
        self.block_s: list[float] = []

    def advance(self, speech: FloatArray, stop: int) -> None:
        """Convert the whole blocks of ``speech`` before ``stop``."""
        block, process = self.case.block, self.engine.process
        while self.position + block <= stop:
            samples = speech[self.position:self.position + block]
            began = time.perf_counter()
            process(samples)
            self.block_s.append(time.perf_counter() - began)
            self.position += block

    def result(self, offline_s: float) -> dict[str, Any]:
        case, engine = self.case, self.engine
        block_ms, step_ms = 1000 * np.asarray(self.block_s), 1000 * engine.times.step_seconds()
        audio_s = len(block_ms) * case.block / case.rate
        config = self.bundle.features
        shares = engine.stage_shares()
        return {
            "profile": engine.profile.name,
            "model": self.bundle.metadata.get("name", str(self.bundle.path)),
            "block": case.block,
            "rate": case.rate,
            "seconds": round(audio_s, 3),
            "block_ms": round(1000 * case.block / case.rate, 3),
            "step_ms": round(1000 * engine.frames_per_step * config.hop_length
                             / config.sample_rate, 3),
            "engine_delay_ms": round(1000 * engine.delay_s, 3),
            "algorithmic_latency_ms": round(1000 * engine.algorithmic_latency_s(case.block), 3),
            "rtf": round(float(block_ms.sum()) / 1000 / audio_s, 4),
            "block_ms_p50": _percentile(block_ms, 50),
            "block_ms_p95": _percentile(block_ms, 95),
            "block_ms_p99": _percentile(block_ms, 99),
            "block_ms_max": _percentile(block_ms, 100),
            "steps": engine.times.n_steps,
            "step_ms_p50": _percentile(step_ms, 50),
            "step_ms_p99": _percentile(step_ms, 99),
            "step_ms_max": _percentile(step_ms, 100),
            "stage_shares": {stage: round(shares[stage], 3) for stage in STAGES},
            "offline_world_rtf": round(offline_s / audio_s, 4),
            "offline_world_ratio": round(float(block_ms.sum()) / 1000 / offline_s, 3),
            "missing_samples": engine.missing_samples,
        }


def _percentile(values: FloatArray, q: float) -> float:
    """The ``q``-th percentile of ``values`` rounded to microseconds (0 if there are none)."""
    return round(float(np.percentile(values, q)), 3) if len(values) else 0.0


def _offline_world_s(bundle: Bundle, speech: FloatArray, rate: int) -> float:
    """Seconds an offline WORLD round trip of ``speech`` takes at the model rate."""
    config = bundle.features
    model_rate = soxr.resample(speech, rate, config.sample_rate, quality="HQ")
    began = time.perf_counter()
    synthesize(analyze(model_rate, config), config)
    return time.perf_counter() - began


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table, one row per benchmark run (block times, then step times, in ms)."""
    header = (f"{'profile':>8} {'block':>6} {'block ms':>8} {'latency ms':>10} {'RTF':>6} "
              f"{'p50':>6} {'p95':>6} {'p99':>6} {'max':>6} {'step ms':>7} {'step p99':>8} "
              f"{'step max':>8} {'vs WORLD':>8}  stage shares")
    lines = [header]
    for r in rows:
        shares = " ".join(f"{k} {100 * v:.0f}%" for k, v in r["stage_shares"].items())
        lines.append(f"{r['profile']:>8} {r['block']:>6} {r['block_ms']:>8.2f} "
                     f"{r['algorithmic_latency_ms']:>10.1f} {r['rtf']:>6.3f} "
                     f"{r['block_ms_p50']:>6.2f} {r['block_ms_p95']:>6.2f} "
                     f"{r['block_ms_p99']:>6.2f} {r['block_ms_max']:>6.2f} {r['step_ms']:>7.1f} "
                     f"{r['step_ms_p99']:>8.2f} {r['step_ms_max']:>8.2f} "
                     f"{r['offline_world_ratio']:>7.2f}x  {shares}")
    return "\n".join(lines)
