"""The evaluation's numbers: per-emotion and overall means of each system, their markdown report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtconvert.engine.prosody import CENTS_PER_LOG

from .measures import Distances
from .mixtures import mix_lines

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
    verdict: str = ""  # the judge's most probable class
    lf0_median: float | None = None  # median natural-log F0 of the output's voiced frames


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


def confusions(rows: list[Scored]) -> dict[str, dict[str, int]]:
    """Target -> the judge's verdicts on its outputs, counted (what a miss is heard as)."""
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        heard = table.setdefault(row.target, {})
        heard[row.verdict] = heard.get(row.verdict, 0) + 1
    return table


def generator_f0_cents(converter: list[Scored], f0_only: list[Scored],
                       emotions: list[str]) -> dict[str, Any]:
    """The generator's own F0 shift: each conversion's median log-F0 less that of the same
    source and emotion by the statistics alone (same order), in cents; per emotion and the
    mean of the emotions'. The statistics already move F0 as far as the real takes do, so
    on real speech this residual should be small."""
    cents: dict[str, list[float]] = {e: [] for e in emotions}
    for a, b in zip(converter, f0_only, strict=True):
        if a.target != b.target:
            raise ValueError(f"unaligned systems: {a.target} against {b.target}")
        if a.lf0_median is not None and b.lf0_median is not None:
            cents[a.target].append((a.lf0_median - b.lf0_median) * CENTS_PER_LOG)
    per_emotion = {e: _mean(v) for e, v in cents.items()}
    return {"overall": _mean(list(per_emotion.values())), "per_emotion": per_emotion}


def summarise(systems: dict[str, list[Scored]], curve: dict[float, list[Scored]],
              emotions: list[str]) -> dict[str, Any]:
    """Every number of a set's report, JSON-ready."""
    summary = {
        "systems": {name: by_emotion(rows, emotions) for name, rows in systems.items()},
        "intensity_curve": {f"{a:g}": by_emotion(rows, emotions) for a, rows in curve.items()},
        "confusions": {name: confusions(systems[name]) for name in ("converter", "real")
                       if name in systems},
    }
    if "converter" in systems and "f0_only" in systems:
        summary["generator_f0_cents"] = generator_f0_cents(systems["converter"],
                                                           systems["f0_only"], emotions)
    return json_safe(summary)


#: The level check's tolerance on the F0 shift.
LEVEL_TOLERANCE_CENTS = 50.0


def level_summary(conversions: dict[str, list[Scored]], source_lf0: list[float | None],
                  emotions: list[str], gain_db: float) -> dict[str, Any]:
    """How much a low input level changes the conversions (same sources, same order).

    Parameters
    ----------
    conversions : dict
        ``"clean"`` and the level condition's name -> the scored conversions at intensity
        1, in the same order (source by source, emotion by emotion).
    source_lf0 : list
        The median log-F0 of each conversion's source (its resynthesis at normal level).
    emotions : list of str
    gain_db : float
        The level condition's gain.
    """
    (_, normal), (_, quiet) = conversions.items()
    rows = []
    for a, b, base in zip(normal, quiet, source_lf0):
        if a.lf0_median is None or b.lf0_median is None or base is None:
            continue
        shift_normal = (a.lf0_median - base) * CENTS_PER_LOG
        shift_quiet = (b.lf0_median - base) * CENTS_PER_LOG
        rows.append((a.target, shift_normal, shift_quiet, a.verdict == b.verdict, a.hit, b.hit))
    if not rows:
        return {"gain_db": gain_db, "n": 0}
    targets, normal_c, quiet_c, same, hit_n, hit_q = (np.array(c) for c in zip(*rows))
    difference = np.abs(quiet_c - normal_c)
    return json_safe({
        "gain_db": gain_db, "n": len(rows),
        "f0_shift_cents": {"normal": float(normal_c.mean()), "quiet": float(quiet_c.mean())},
        "f0_shift_difference_cents": {"mean": float(difference.mean()),
                                      "max": float(difference.max()),
                                      "within_tolerance": float(np.mean(
                                          difference <= LEVEL_TOLERANCE_CENTS))},
        "same_verdict": float(same.mean()),
        "recognised": {"normal": float(hit_n.mean()), "quiet": float(hit_q.mean())},
        "per_emotion": {e: {"f0_shift_difference_cents": float(difference[targets == e].mean()),
                            "same_verdict": float(same[targets == e].mean())}
                        for e in emotions if (targets == e).any()}})


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


#: The overview's name of each set.
SET_TITLES = {"valid": "RAVDESS validation speakers", "heldout": "held-out sentence",
              "emodb": "EmoDB (German, unseen speakers and sentences)",
              "room": "validation speakers in a room", "level": "validation speakers at -30 dB",
              "mix": "emotion mixtures (validation speakers)"}


def overview_table(sets: dict[str, Any]) -> list[str]:
    """One row per set: recognition of each system, and the converter against F0-only."""
    lines = ["| set | unchanged | F0/energy only | **converter** | ceiling | real "
             "| MCD dB (F0-only) | log-F0 RMSE c (F0-only) | DNSMOS (ceiling) |",
             "|---|" + "---:|" * 8]
    for name, summary in sets.items():
        if name in ("level", "mix"):
            continue
        systems = {s: summary["systems"][s]["overall"] for s in summary["systems"]}
        cells = [_cell(systems[s]["recognised"], "{:.0f} %", 100)
                 for s in ("unchanged", "f0_only", "converter", "ceiling", "real")]
        conv, f0 = systems["converter"], systems["f0_only"]
        cells += [f"{_cell(conv['mcd_db'], '{:.2f}')} ({_cell(f0['mcd_db'], '{:.2f}')})",
                  f"{_cell(conv['lf0_rmse_cents'], '{:.0f}')} "
                  f"({_cell(f0['lf0_rmse_cents'], '{:.0f}')})",
                  f"{_cell(conv['dnsmos_ovrl'], '{:.2f}')} "
                  f"({_cell(systems['ceiling']['dnsmos_ovrl'], '{:.2f}')})"]
        lines.append(f"| {SET_TITLES.get(name, name)} | " + " | ".join(cells) + " |")
    return lines


def level_lines(level: dict[str, Any]) -> list[str]:
    if not level.get("n"):
        return ["No conversion had voiced frames at both levels."]
    shift, diff = level["f0_shift_cents"], level["f0_shift_difference_cents"]
    return [f"The validation speakers' neutral takes {level['gain_db']:+.0f} dB quieter (outputs "
            f"brought back up), {level['n']} conversions at intensity 1: mean F0 shift "
            f"{shift['normal']:+.0f} cents at the normal level, {shift['quiet']:+.0f} at the low "
            f"one; per conversion the two differ by {diff['mean']:.0f} cents on average "
            f"(at most {diff['max']:.0f}; {100 * diff['within_tolerance']:.0f} % within "
            f"{LEVEL_TOLERANCE_CENTS:.0f}); the judge's verdict is the same for "
            f"{100 * level['same_verdict']:.0f} % (recognised "
            f"{100 * level['recognised']['normal']:.0f} % and "
            f"{100 * level['recognised']['quiet']:.0f} %)."]


def confusion_lines(heard: dict[str, dict[str, int]], emotions: list[str]) -> list[str]:
    """One line per target: its outputs' verdicts, most frequent first."""
    lines = []
    for target in emotions:
        verdicts = sorted(heard.get(target, {}).items(), key=lambda kv: -kv[1])
        lines.append(f"- {target}: " + ", ".join(f"{v} {n}" for v, n in verdicts))
    return lines


def set_section(name: str, summary: dict[str, Any]) -> list[str]:
    """A set's tables: systems, recognition per emotion, the intensity curve."""
    setup = summary["setup"]
    lines = [f"## {SET_TITLES.get(name, name)}", ""]
    if name == "mix":
        return lines + [(f"{setup['n_sources']} neutral source takes of "
                         f"{', '.join(setup['speakers'])}, each at intensity 1; the judge's mean "
                         "probability of each emotion of the pair, every output z-scored by "
                         "the speaker's converter outputs (as in the validation set)."), "",
                        *mix_lines(summary), ""]
    emotions = setup["emotions"]
    yardstick = ("each speaker's outputs of a system" if setup["yardstick"] == "outputs"
                 else "each speaker's real takes of the set")
    lines += [(f"Speakers {', '.join(setup['speakers'])}; {len(setup['sentences'])} sentences"
               f"{' the model never heard' if setup['held_out_sentence'] else ''}; "
               f"{setup['n_sources']} neutral source takes x {len(emotions)} emotions, heard "
               f"{setup['condition']}; the judge z-scores by {yardstick} and chooses among "
               f"{len(setup['classes'])} classes."), "", *main_table(summary), "",
              "Recognised as the target, per emotion (%):", "",
              *emotion_table(summary, emotions), ""]
    heard = summary.get("confusions", {}).get("converter")
    if heard:
        lines += ["What the converter's misses were heard as (the judge's verdicts per target):",
                  "", *confusion_lines(heard, emotions), ""]
    residual = summary.get("generator_f0_cents")
    if residual:
        per = ", ".join(f"{e} {_cell(v, '{:+.0f}')}" for e, v in residual["per_emotion"].items())
        lines += [("The generator's own F0 shift (residual), on top of the statistics' "
                   "(the converter's median log-F0 less the F0-only system's, cents): "
                   f"mean {_cell(residual['overall'], '{:+.0f}')}; {per}."), ""]
    if summary.get("intensity_curve"):
        lines += ["The judge's mean probability of the target along the intensity:", "",
                  *curve_table(summary, emotions), ""]
    if "judge_real" in summary:
        real = summary["judge_real"]
        lines += [f"The judge on all {real['n_all']} real takes of these speakers: "
                  f"{100 * real['all']:.1f} %.", ""]
    return lines


def judge_section(judge: dict[str, Any]) -> list[str]:
    info = judge["trained_on"]
    lines = [(f"Features {' + '.join(judge['feature_sets'])} functionals (openSMILE), z-scored "
              f"per speaker and set; StandardScaler + multinomial logistic regression, C = "
              f"{judge['c']:g}; chosen by cross-validation grouped by speaker on "
              f"{len(info.get('speakers', []))} training speakers ({info.get('n_rows', '?')} rows: "
              f"{', '.join(info.get('materials', []))}): accuracy "
              f"**{100 * judge['cv_accuracy']:.1f} %** (8 classes)."), "",
             "| features | C | grouped-CV accuracy % |", "|---|---:|---:|"]
    lines += [f"| {row['feature_sets']} | {row['c']:g} | {100 * row['cv_accuracy']:.1f} |"
              for row in judge["cv_table"]]
    return lines


def markdown(summary: dict[str, Any]) -> str:
    """The report: the overview, each set's tables, the judge."""
    setup, sets = summary["setup"], summary["sets"]
    lines = [f"# Evaluation of `{setup['bundle']}`", "",
             ("Each neutral take converted through the streaming `Engine` at 24 kHz, gate off, to "
              "each emotion at intensity 1 and compared with the same speaker's real emotional "
              "takes of the same sentence (RAVDESS: the strong ones; the ceiling is the engine's "
              "copy-synthesis of those takes). Recognition is the judge's most probable class; "
              "MCD on the coded mel-cepstra c1.. after DTW, so not on SPTK's scale."), "",
             *overview_table(sets), ""]
    if "level" in sets:
        lines += level_lines(sets["level"]) + [""]
    for name, block in sets.items():
        if name != "level":  # its paragraph follows the overview
            lines += set_section(name, block)
    lines += ["## The judge", "", *judge_section(summary["judge"]), "",
              (f"{sum(s['setup']['n_jobs'] for s in sets.values())} renders in "
               f"{setup['wall_time_s']:.0f} s wall time with {setup['workers']} worker "
               f"process(es), {setup['judge_time_s']:.0f} s of it for loading or fitting the "
               "judge.")]
    return "\n".join(lines)
