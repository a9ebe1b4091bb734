"""The latency benchmark: stream speech through the engine as fast as one thread can, and time it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

from .audiofile import load_audio
from .bundle import Bundle
from .controls import Settings
from .engine import Engine
from .errors import RtconvertError
from .features import analyze, synthesize
from .stagetimes import STAGES

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


def run_bench(bundle: Bundle, speech: FloatArray, case: BenchCase) -> dict[str, Any]:
    """Stream ``speech`` (at ``case.rate``) through a fresh engine; timings and latency.

    ``offline_world_ratio`` divides the engine's time by that of a plain offline WORLD
    round trip (analysis and pyworld synthesis) of the same speech at the model rate,
    measured here in the same run.
    """
    engine = Engine(bundle, case.rate, Settings(emotion=case.emotion, intensity=case.intensity))
    engine.warm_up()
    times = []
    for start in range(0, len(speech) - case.block + 1, case.block):
        block = speech[start:start + case.block]
        began = time.perf_counter()
        engine.process(block)
        times.append(time.perf_counter() - began)
    block_ms = np.asarray(times) * 1000
    audio_s = len(block_ms) * case.block / case.rate

    config = bundle.features
    model_rate = soxr.resample(speech, case.rate, config.sample_rate, quality="HQ")
    began = time.perf_counter()
    synthesize(analyze(model_rate, config), config)
    offline_s = time.perf_counter() - began

    shares = engine.stage_shares()
    return {
        "block": case.block,
        "rate": case.rate,
        "seconds": round(audio_s, 3),
        "block_ms": round(1000 * case.block / case.rate, 3),
        "engine_delay_ms": round(1000 * engine.delay_s, 3),
        "algorithmic_latency_ms": round(1000 * engine.algorithmic_latency_s(case.block), 3),
        "rtf": round(float(block_ms.sum()) / 1000 / audio_s, 4),
        "block_ms_p50": round(float(np.percentile(block_ms, 50)), 3),
        "block_ms_p95": round(float(np.percentile(block_ms, 95)), 3),
        "block_ms_p99": round(float(np.percentile(block_ms, 99)), 3),
        "block_ms_max": round(float(block_ms.max()), 3),
        "stage_shares": {stage: round(shares[stage], 3) for stage in STAGES},
        "offline_world_rtf": round(offline_s / audio_s, 4),
        "offline_world_ratio": round(float(block_ms.sum()) / 1000 / offline_s, 3),
        "missing_samples": engine.missing_samples,
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table, one row per benchmark run."""
    header = (f"{'block':>6} {'block ms':>8} {'latency ms':>10} {'RTF':>6} {'p50':>6} {'p95':>6} "
              f"{'p99':>6} {'max':>6} {'vs WORLD':>8}  stage shares")
    lines = [header]
    for r in rows:
        shares = " ".join(f"{k} {100 * v:.0f}%" for k, v in r["stage_shares"].items())
        lines.append(f"{r['block']:>6} {r['block_ms']:>8.2f} {r['algorithmic_latency_ms']:>10.1f} "
                     f"{r['rtf']:>6.3f} {r['block_ms_p50']:>6.2f} {r['block_ms_p95']:>6.2f} "
                     f"{r['block_ms_p99']:>6.2f} {r['block_ms_max']:>6.2f} "
                     f"{r['offline_world_ratio']:>7.2f}x  {shares}")
    return "\n".join(lines)
