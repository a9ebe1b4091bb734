"""The data a training run reads: the speaker split, features, statistics and parallel pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtconvert.config import FeatureConfig
from rtconvert.engine.prosody import shift_at
from rtconvert.errors import ConfigError
from rtconvert.files import write_text
from rtconvert.modelio import EmotionShift, Layout, Normalization
from rtconvert.profiles import PROFILES, LatencyProfile
from rtconvert.settings import NEUTRAL, choices

from .corpus import INTENSITY_NAMES
from .dataset import ConditionMap, Take, load_takes, parallel_pairs
from .extract import FeatureSpec, cache_dir, extract
from .index import scan
from .stats import compute_statistics

#: The run folder's resolved config and training-speaker statistics: written once every
#: data check passed, so a failed start leaves nothing a re-run would read.
CONFIG_NAME, STATS_NAME = "config.yaml", "stats.json"


@dataclass
class Data:
    """Everything the trainer reads: takes and pairs of the training and dev speakers."""

    train_takes: list[Take]
    train_pairs: list
    dev_takes: list[Take]
    dev_pairs: list
    stats: dict[str, Any]
    norm: Normalization
    layout: Layout
    conditions: ConditionMap
    spec: FeatureSpec


def feature_spec(config: FeatureConfig, profile: LatencyProfile, data: dict[str, Any],
                 speed: float = 1.0, room: int | None = None) -> FeatureSpec:
    """The streaming analysis of a latency profile, behind the front end ``data`` asks for:
    what the engine sees live."""
    return FeatureSpec(config, profile.geometry(config), speed, room, data["level"],
                       data["denoise"])


def augmentations(data: dict[str, Any], features: FeatureConfig, profile: LatencyProfile
                  ) -> dict[str, FeatureSpec]:
    """The training speakers' variants: each speed, and each room at the normal speed."""
    variants = {f"speed{speed}": feature_spec(features, profile, data, speed)
                for speed in data["speeds"]}
    variants |= {f"room{room}": feature_spec(features, profile, data, 1.0, room)
                 for room in data["rooms"]}
    return variants


def split_utterances(config: dict[str, Any]) -> tuple[list, list, list]:
    """Training, dev (checkpoint selection) and validation (never seen) utterances.

    Raises
    ------
    ConfigError
        If the root holds no takes of the configured corpora and emotions, a named
        speaker or sentence is not among them, or a part of the split is left empty.
    """
    data = config["data"]
    found = scan(data["root"])[0]
    utterances = [u for u in found if u.corpus in data["corpora"]
                  and u.emotion in choices(tuple(data["emotions"]))]
    if not utterances:
        corpora = sorted({u.corpus for u in found})
        raise ConfigError(f"0 training utterances: data.root {data['root']} holds no takes of "
                          f"data.corpora {data['corpora']} with data.emotions (corpora found: "
                          f"{', '.join(corpora) or 'none'})")
    unscaled = {INTENSITY_NAMES[u.intensity] for u in utterances
                if u.emotion != NEUTRAL} - set(data["intensity_scale"])
    if unscaled:
        raise ConfigError(f"data.intensity_scale gives no generator intensity for the "
                          f"{', '.join(sorted(unscaled))} takes under {data['root']}")
    valid, dev = set(data["valid_speakers"]), set(data["dev_speakers"])
    sentences = data.get("sentences")
    speakers, known_sentences = {u.speaker for u in utterances}, {u.sentence for u in utterances}
    for key, names, known in (("valid_speakers", valid, speakers), ("dev_speakers", dev, speakers),
                              ("sentences", set(sentences or ()), known_sentences)):
        if names - known:
            raise ConfigError(f"data.{key}: {', '.join(sorted(names - known))} not under "
                              f"{data['root']} (found {_names(known)})")
    train = [u for u in utterances if u.speaker not in valid | dev
             and (sentences is None or u.sentence in sentences)]
    dev_rows = [u for u in utterances if u.speaker in dev]
    valid_rows = [u for u in utterances if u.speaker in valid]
    for name, rows in (("training", train), ("dev", dev_rows), ("validation", valid_rows)):
        if not rows:
            raise ConfigError(f"the speaker split left 0 {name} utterances "
                              f"(valid_speakers={sorted(valid)}, dev_speakers={sorted(dev)}, "
                              f"sentences={sentences}; speakers found: {_names(speakers)})")
    return train, dev_rows, valid_rows


def _names(names: set[str], most: int = 8) -> str:
    """Up to ``most`` of ``names``, sorted, for a message."""
    listed = sorted(names)
    return ", ".join(listed[:most]) + (f" and {len(listed) - most} more" if len(listed) > most
                                       else "")


def _runtime_shifts(stats: dict[str, Any], emotions: list[str], scale: dict[str, float]
                    ) -> dict[tuple[str, str], EmotionShift]:
    """(emotion, intensity) -> the shift the runtime applies there (rtconvert.engine.prosody)."""
    shifts = {}
    for emotion in emotions:
        measured = stats["prosody"].get(emotion, {})
        anchors = sorted((scale[name], EmotionShift.measured(s["delta_lf0"], s["sigma_ratio"],
                                                             s["delta_c0_db"]))
                         for name, s in measured.items() if name in scale)
        for name in measured:
            if name in scale:
                shifts[(emotion, name)] = shift_at(anchors, scale[name])
    return shifts


def prepare_data(config: dict[str, Any], run_dir: Path, progress: bool) -> Data:
    """Extract (or reuse) features, split speakers, compute statistics on the training ones."""
    data = config["data"]
    features = FeatureConfig()
    train, dev, _ = split_utterances(config)
    profile = PROFILES[data["profile"]]
    clean = feature_spec(features, profile, data)
    failed: dict[str, Path] = {}  # file -> the list of failures that names it
    variants = augmentations(data, features, profile)
    for spec in dict.fromkeys([clean, *variants.values()]):
        rows = train if spec != clean else train + dev
        report = extract(rows, data["root"], data["cache"], spec, progress=progress)
        failed |= {line.split(": ", 1)[0]: report.directory / "failures.txt"
                   for line in report.failures}
    train = [u for u in train if u.filepath not in failed]
    dev = [u for u in dev if u.filepath not in failed]
    if failed and not (train and dev):
        raise ConfigError(f"no {'training' if not train else 'dev'} take could be analysed "
                          f"({len(failed)} failed; see {next(iter(failed.values()))})")
    # A started run (its config saved) keeps its statistics; a new start computes them
    # and saves them only once every check passed, as the config.
    stats_path = run_dir / STATS_NAME
    reuse = (run_dir / CONFIG_NAME).is_file() and stats_path.is_file()
    if reuse:
        stats = json.loads(stats_path.read_text())
    else:
        stats = compute_statistics(cache_dir(data["cache"], clean), train)
        stats.update(valid_speakers=sorted(data["valid_speakers"]),
                     dev_speakers=sorted(data["dev_speakers"]))
    norm = Normalization(*(np.array(stats[k]) for k in ("mcep_mean", "mcep_std", "bap_mean",
                                                         "bap_std")), stats["c0_scale"],
                         data["speaker_mcep"])
    layout = Layout(features.n_mcep, features.n_bap)
    train_takes, levels = load_takes({name: cache_dir(data["cache"], spec)
                                      for name, spec in variants.items()}, train, norm)
    dev_takes, dev_levels = load_takes({"speed1.0": cache_dir(data["cache"], clean)}, dev, norm)
    levels.update(dev_levels)
    conditions = ConditionMap(tuple(data["emotions"]), data["intensity_scale"],
                              _runtime_shifts(stats, data["emotions"], data["intensity_scale"]),
                              {g: lv for (g, e, _), lv in levels.items() if e == NEUTRAL},
                              norm.c0_scale)
    pairs = {}
    for name, takes in (("training", train_takes), ("dev", dev_takes)):
        pairs[name] = parallel_pairs(takes, levels, norm.c0_scale, layout)
        if not pairs[name]:  # each speaker needs a neutral and an emotional take of a sentence
            raise ConfigError(f"the {name} speakers have no neutral and emotional takes of one "
                              f"sentence to pair (takes with voiced neutral speech: {len(takes)})")
    if not reuse:
        write_text(stats_path, json.dumps(stats, indent=1))
    return Data(train_takes, pairs["training"], dev_takes, pairs["dev"], stats, norm, layout,
                conditions, clean)
