"""Corpus statistics from the feature cache: mcep normalisation and speaker-relative prosody shifts.

Usage::

    rtconvert-stats --cache cache/features/world-XXXX -o stats.json [--exclude-speakers A,B]

For each speaker and each (emotion, intensity), voiced log-F0 is pooled over that
speaker's utterances; the shift of an emotion is the mean over speakers of
``mu(s, emotion) - mu(s, neutral)`` and of ``sigma(s, emotion) / sigma(s, neutral)``,
so a bass voice is never dragged toward the corpus average (DESIGN.md, Prosody). The
same is done for energy (c0 of voiced frames, in dB).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from rtconvert.cli.entry import ArgumentParser, existing_folder, run_command
from rtconvert.config import FeatureConfig
from rtconvert.engine.prosody import (
    CENTS_PER_LOG,
    DB_PER_LOG_POWER,
    log_f0_stats,
    voiced_log_f0,
)
from rtconvert.errors import ConfigError
from rtconvert.files import check_output, write_text
from rtconvert.settings import NEUTRAL

from .corpus import INTENSITY_NAMES, Utterance
from .extract import feature_path, load_features
from .index import read_index

STATS_FORMAT = "rtconvert-stats/1"
#: Frames more than this far below an utterance's loud frames count as silence.
SILENCE_FLOOR_DB = 40.0


def speech_mask(c0: np.ndarray, floor_db: float = SILENCE_FLOOR_DB) -> np.ndarray:
    """Frames within ``floor_db`` of the utterance's 95th-percentile energy; shape (n_frames,)."""
    return c0 > np.percentile(c0, 95) - floor_db / DB_PER_LOG_POWER


def _domain(utterance: Utterance) -> tuple[str, str]:
    return utterance.emotion, INTENSITY_NAMES[utterance.intensity]


def compute_statistics(directory: str | Path, utterances: list[Utterance]) -> dict[str, Any]:
    """Statistics over cached features of ``utterances``; see the module docstring.

    Raises
    ------
    ConfigError
        If there are no utterances, or no voiced speech in them.
    """
    directory = Path(directory)
    if not utterances:
        raise ConfigError(f"{directory}: no utterances to compute statistics on")
    config = FeatureConfig.from_dict(json.loads((directory / "feature_config.json").read_text()))
    lf0: dict[tuple[str, str, str], list[np.ndarray]] = defaultdict(list)
    c0: dict[tuple[str, str, str], list[np.ndarray]] = defaultdict(list)
    n_utts: dict[tuple[str, str, str], int] = defaultdict(int)
    genders: dict[str, str] = {}
    speech_frames, voiced_bap = [], []
    for utterance in utterances:
        features = load_features(feature_path(directory, utterance))
        speech_frames.append(features.mcep[speech_mask(features.mcep[:, 0])])
        voiced_bap.append(features.bap[features.f0_hz > 0])
        key = (utterance.speaker, *_domain(utterance))
        lf0[key].append(voiced_log_f0(features.f0_hz))
        c0[key].append(features.mcep[features.f0_hz > 0, 0])
        n_utts[key] += 1
        genders[utterance.speaker] = utterance.gender
    speech, bap = np.concatenate(speech_frames), np.concatenate(voiced_bap)
    if not len(speech) or len(bap) < 2:
        raise ConfigError(f"{directory}: no voiced speech in {len(utterances)} utterances "
                          "(silent or unreadable recordings, or the wrong data.root?)")
    # Voiced energy around each speaker-domain's own mean: the scale of the generator's c0.
    c0_spread = np.concatenate([np.concatenate(v) - np.mean(np.concatenate(v))
                                for v in c0.values() if sum(map(len, v))])
    neutral_c0 = [np.mean(np.concatenate(v)) for k, v in c0.items()
                  if k[1] == NEUTRAL and sum(map(len, v))]
    return {
        "format": STATS_FORMAT,
        "feature_config": config.to_dict(),
        "n_utterances": len(utterances),
        "n_speech_frames": len(speech),
        "speakers": sorted(genders),
        "mcep_mean": speech.mean(0).tolist(),
        "mcep_std": np.maximum(speech.std(0), 1e-4).tolist(),
        "bap_mean": bap.mean(0).tolist(),
        "bap_std": np.maximum(bap.std(0), 1e-4).tolist(),
        "c0_scale": float(np.std(c0_spread)),
        "c0_prior": float(np.mean(neutral_c0)) if neutral_c0 else float(np.mean(speech[:, 0])),
        "lf0_prior": _neutral_prior(lf0, genders),
        "prosody": _prosody_shifts(lf0, c0, n_utts),
    }


def _pooled(chunks: list[np.ndarray]):
    return log_f0_stats(np.concatenate(chunks) if chunks else np.zeros(0))


def _neutral_prior(lf0, genders) -> dict[str, dict[str, float]]:
    """Average neutral log-F0 mean/std per gender: where the live running estimate starts."""
    groups: dict[str, list] = defaultdict(list)
    for (speaker, emotion, _), chunks in lf0.items():
        if emotion == NEUTRAL:
            stats = _pooled(chunks)
            if not math.isnan(stats.mean):
                groups[genders[speaker] or "unknown"].append(stats)
                groups["all"].append(stats)
    return {group: {"mean": float(np.mean([s.mean for s in items])),
                    "std": float(np.mean([s.std for s in items])),
                    "n_speakers": len(items)}
            for group, items in sorted(groups.items())}


def _prosody_shifts(lf0, c0, n_utts) -> dict[str, dict[str, dict[str, Any]]]:
    speakers = sorted({key[0] for key in lf0})
    domains = sorted({key[1:] for key in lf0 if key[1] != NEUTRAL})
    result: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for emotion, intensity in domains:
        per_speaker = {}
        for speaker in speakers:
            target, neutral = (speaker, emotion, intensity), (speaker, NEUTRAL, "normal")
            if target not in lf0 or neutral not in lf0:
                continue
            t, n = _pooled(lf0[target]), _pooled(lf0[neutral])
            if math.isnan(t.mean) or math.isnan(n.mean) or n.std <= 0:
                continue
            per_speaker[speaker] = {
                "n_utterances": n_utts[target], "n_voiced_frames": t.n_frames,
                "n_neutral_voiced_frames": n.n_frames,
                "delta_lf0": t.mean - n.mean, "sigma_ratio": t.std / n.std,
                "delta_c0_db": DB_PER_LOG_POWER * float(np.mean(np.concatenate(c0[target]))
                                                        - np.mean(np.concatenate(c0[neutral]))),
            }
        if not per_speaker:
            continue
        delta = float(np.mean([s["delta_lf0"] for s in per_speaker.values()]))
        result[emotion][intensity] = {
            "delta_lf0": delta,
            "delta_cents": delta * CENTS_PER_LOG,
            "sigma_ratio": float(np.mean([s["sigma_ratio"] for s in per_speaker.values()])),
            "delta_c0_db": float(np.mean([s["delta_c0_db"] for s in per_speaker.values()])),
            "n_speakers": len(per_speaker),
            "per_speaker": per_speaker,
        }
    return dict(result)


def format_table(stats: dict[str, Any]) -> str:
    """Markdown table of the prosody shifts: one row per emotion and intensity."""
    header = ("| emotion | intensity | Δμ log-F0 (cents) | σ ratio | Δ energy (dB) | speakers "
              "| utterances |")
    lines = [header, "|---|---|---:|---:|---:|---:|---:|"]
    for emotion, by_intensity in sorted(stats["prosody"].items()):
        for intensity, s in sorted(by_intensity.items()):
            n_utts = sum(p["n_utterances"] for p in s["per_speaker"].values())
            lines.append(f"| {emotion} | {intensity} | {s['delta_cents']:+.0f} | "
                         f"{s['sigma_ratio']:.2f} | {s['delta_c0_db']:+.1f} | {s['n_speakers']} | "
                         f"{n_utts} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="rtconvert-stats", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, required=True,
                        help="a feature cache folder (holds index.csv and feature_config.json)")
    parser.add_argument("--exclude-speakers", default="",
                        help="comma-separated speaker ids to leave out (validation speakers)")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    existing_folder(args.cache, "--cache")
    if not (args.cache / "index.csv").is_file():
        raise ConfigError(f"--cache {args.cache}: not a feature cache (it holds no index.csv)")
    check_output(args.output)
    excluded = {s for s in args.exclude_speakers.split(",") if s}
    utterances = [u for u in read_index(args.cache / "index.csv") if u.speaker not in excluded]
    stats = compute_statistics(args.cache, utterances)
    write_text(args.output, json.dumps(stats, indent=1))
    print(f"{args.output}: {stats['n_utterances']} utterances, {len(stats['speakers'])} speakers")
    print(format_table(stats))
    return 0


if __name__ == "__main__":  # python -m, as the console script: one error path
    sys.exit(run_command("rtconvert-stats", main))
