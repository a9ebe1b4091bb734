"""The evaluation's numbers: per-emotion and overall means of each system, their markdown report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .measures import Distances

#: Rows of the main table, in order, with what each is.
SYSTEM_NAMES = {
    "unchanged": "unchanged neutral input",
    "resynthesis": "WORLD resynthesis (engine, intensity 0)",
    "f0_only": "F0/energy statistics only (engine, identity generator)",
    "converter": "**converter** (engine, intensity 1)",
    "ceiling": "WORLD copy-synthesis of the real strong take (ceiling)",
    "real": "real strong take (reference)",
}
METRICS = ("recognised", "p_target", "mcd_db", "lf0_rmse_cents", "lf0_r", "dnsmos_ovrl",
           "dnsmos_sig", "dnsmos_bak", "dnsmos_p808")


@dataclass(frozen=True)
class Scored:
    """The measures of one output for one target emotion."""

    target: str
    p_target: float  # the judge's probability of the target
    hit: bool  # the judge's most probable class is the target
    distances: list[Distances]  # to each real take compared with
    dnsmos: dict[str, float] | None
    peak: float  # largest absolute sample of the output


def _mean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def metrics(rows: list[Scored]) -> dict[str, float]:
    """Means over outputs (distances first averaged over an output's references)."""
    def distance(name: str) -> float:
        return _mean([_mean([getattr(d, name) for d in r.distances]) for r in rows])

    def quality(name: str) -> float:
        return _mean([r.dnsmos[name] for r in rows if r.dnsmos])

    return {"n": len(rows), "recognised": _mean([float(r.hit) for r in rows]),
            "p_target": _mean([r.p_target for r in rows]),
            "mcd_db": distance("mcd_db"), "lf0_rmse_cents": distance("lf0_rmse_cents"),
            "lf0_r": distance("lf0_r"),
            **{f"dnsmos_{k}": quality(k) for k in ("ovrl", "sig", "bak", "p808")},
            "n_peak_over_1": sum(r.peak > 1.0 for r in rows)}


def by_emotion(rows: list[Scored], emotions: list[str]) -> dict[str, Any]:
    """Per-emotion metrics, and ``overall``: the mean of the emotions' values."""
    per_emotion = {e: metrics([r for r in rows if r.target == e]) for e in emotions}
    overall = {m: _mean([per_emotion[e][m] for e in emotions]) for m in METRICS}
    overall["n"] = len(rows)
    overall["n_peak_over_1"] = sum(r.peak > 1.0 for r in rows)
    return {"overall": overall, "per_emotion": per_emotion}


def json_safe(value: Any) -> Any:
    """NaN becomes None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def summarise(systems: dict[str, list[Scored]], curve: dict[float, list[Scored]],
              emotions: list[str]) -> dict[str, Any]:
    """Every number of the report, JSON-ready."""
    return json_safe({
        "systems": {name: by_emotion(rows, emotions) for name, rows in systems.items()},
        "intensity_curve": {f"{a:g}": by_emotion(rows, emotions) for a, rows in curve.items()},
    })


# -- markdown ---------------------------------------------------------------------------


def _cell(value: float | None, fmt: str, scale: float = 1.0) -> str:
    return "—" if value is None else fmt.format(scale * value)


def main_table(summary: dict[str, Any]) -> list[str]:
    lines = [("| system | recognised % | p(target) | MCD dB | log-F0 RMSE cents | log-F0 r "
              "| DNSMOS OVRL | SIG | BAK | P.808 |"), "|---|" + "---:|" * 9]
    for name, label in SYSTEM_NAMES.items():
        m = summary["systems"][name]["overall"]
        cells = [_cell(m["recognised"], "{:.0f}", 100), _cell(m["p_target"], "{:.2f}"),
                 _cell(m["mcd_db"], "{:.2f}"), _cell(m["lf0_rmse_cents"], "{:.0f}"),
                 _cell(m["lf0_r"], "{:.2f}")]
        cells += [_cell(m[f"dnsmos_{k}"], "{:.2f}") for k in ("ovrl", "sig", "bak", "p808")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def emotion_table(summary: dict[str, Any], emotions: list[str]) -> list[str]:
    names = list(SYSTEM_NAMES)
    lines = ["| emotion | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for e in emotions + ["overall"]:
        cells = []
        for name in names:
            block = summary["systems"][name]
            m = block["overall"] if e == "overall" else block["per_emotion"][e]
            cells.append(_cell(m["recognised"], "{:.0f}", 100))
        label = "**mean**" if e == "overall" else e
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def curve_table(summary: dict[str, Any], emotions: list[str]) -> list[str]:
    curve = summary["intensity_curve"]
    lines = ["| | " + " | ".join(curve) + " |", "|---|" + "---:|" * len(curve)]
    lines.append("| **mean p(target)** | " + " | ".join(
        _cell(c["overall"]["p_target"], "{:.3f}") for c in curve.values()) + " |")
    lines.append("| recognised % | " + " | ".join(
        _cell(c["overall"]["recognised"], "{:.0f}", 100) for c in curve.values()) + " |")
    for e in emotions:
        lines.append(f"| p({e}) | " + " | ".join(
            _cell(c["per_emotion"][e]["p_target"], "{:.3f}") for c in curve.values()) + " |")
    return lines


def judge_section(judge: dict[str, Any]) -> list[str]:
    real, info = judge["real"], judge["trained_on"]
    lines = [(f"Features {' + '.join(judge['feature_sets'])} functionals (openSMILE), z-scored "
              f"per speaker and set; StandardScaler + multinomial logistic regression, C = "
              f"{judge['c']:g}; chosen by cross-validation grouped by speaker on "
              f"{len(info.get('speakers', []))} training speakers ({info.get('n_rows', '?')} rows: "
              f"{', '.join(info.get('materials', []))})."), "",
             (f"- grouped-CV accuracy on the training speakers (real takes and their engine "
              f"resynthesis, 8 classes): **{100 * judge['cv_accuracy']:.1f} %**"),
             (f"- validation speakers' real takes, all {real['n_all']} (8 classes, z-scored over "
              f"each speaker's takes): **{100 * real['all']:.1f} %**"),
             (f"- validation speakers' real strong takes, {real['n_strong']} (sets of neutral + "
              f"strong takes, as the ceiling): **{100 * real['strong']:.1f} %**"), "",
             "| features | C | grouped-CV accuracy % |", "|---|---:|---:|"]
    lines += [f"| {row['feature_sets']} | {row['c']:g} | {100 * row['cv_accuracy']:.1f} |"
              for row in judge["cv_table"]]
    return lines


def markdown(summary: dict[str, Any]) -> str:
    """The report: setup, main table, recognition per emotion, intensity curve, judge."""
    setup = summary["setup"]
    split = "held-out sentence" if setup["held_out_sentence"] else "speaker split"
    emotions = setup["emotions"]
    lines = [f"# Evaluation of `{setup['bundle']}` ({split})", "",
             (f"Speakers {', '.join(setup['speakers'])}; "
              f"sentences {', '.join(setup['sentences'])}; {setup['n_sources']} neutral source "
              f"takes x {len(emotions)} emotions, compared "
              "with the same speaker's real strong takes of the same sentence (the ceiling with "
              "its own take). Every conversion ran through the streaming `Engine` at 24 kHz, "
              "gate off. Means over the emotions; recognition is the judge's most probable of 8 "
              "classes; MCD on the coded mel-cepstra c1.. after DTW, so not on SPTK's scale."), "",
             *main_table(summary), "",
             "## Recognised as the target, per emotion (%)", "", *emotion_table(summary, emotions),
             "", "## Intensity curve (converter): the judge's mean probability of the target", "",
             *curve_table(summary, emotions), "", "## The judge", "",
             *judge_section(summary["judge"]), "",
             (f"{setup['n_jobs']} renders in {setup['wall_time_s']:.0f} s wall time with "
              f"{setup['workers']} worker process(es), {setup['judge_time_s']:.0f} s of it for "
              "loading or fitting the judge.")]
    return "\n".join(lines)
