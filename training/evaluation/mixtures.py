"""The ``mix`` set: emotion mixtures at 0.5/0.5, heard beside their two pure conversions.

Every neutral source take of the validation speakers is converted at intensity 1 to each
pure emotion and to each pair of :data:`MIX_PAIRS` half and half. The judge hears each output
z-scored by the same speaker's converter outputs (its resynthesis and one conversion per
emotion, as the ``valid`` set's converter rows), and gives its probability of each of the
pair's two emotions: for the unchanged input (and its resynthesis, the same vocoder as every
other row), for each pure conversion and for the mixture. A mixture that works is heard as
both: each probability above the unchanged input's, and it sounds as natural as the pure
conversions (DNSMOS).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .judge import CLASSES, Judge, Reference
from .renders import Record, RenderJob
from .sets import Plan

#: The pairs measured: a pleasant and an excited, two fears, two aversions, two lows.
MIX_PAIRS = (("happy", "surprised"), ("sad", "fearful"), ("angry", "disgust"), ("calm", "sad"))


def mixture(a: str, b: str) -> str:
    """The emotion text of ``a`` and ``b`` half and half."""
    return f"{a}=0.5,{b}=0.5"


def pairs_of(plan: Plan) -> list[tuple[str, str]]:
    """The pairs whose two emotions the plan converts to."""
    return [p for p in MIX_PAIRS if set(p) <= set(plan.emotions)]


def mix_jobs(plan: Plan, base: RenderJob) -> list[RenderJob]:
    """Per source: the take, its resynthesis, each pure conversion and each pair's mixture."""
    jobs = []
    for source in plan.sources:
        take = replace(base, take=source.filepath)
        jobs += [replace(take, recipe="source", quality=True),
                 replace(take, recipe="resynthesis", quality=True)]
        jobs += [replace(take, recipe="convert", emotion=e, intensity=1.0, quality=True)
                 for e in plan.emotions]
        jobs += [replace(take, recipe="convert", emotion=mixture(a, b), intensity=1.0,
                         quality=True) for a, b in pairs_of(plan)]
    return jobs


def _reference(judge: Judge, plan: Plan, records: dict[tuple, Record]) -> Reference:
    """Each speaker's converter outputs: the statistics its rows are z-scored by."""
    heard, rows, groups = plan.condition.name, [], []
    for source in plan.sources:
        keys = [(heard, "resynthesis", source.filepath, "neutral", 0.0)]
        keys += [(heard, "convert", source.filepath, e, 1.0) for e in plan.emotions]
        rows += [records[k] for k in keys]
        groups += [source.speaker] * len(keys)
    return Reference({s: np.stack([r.functionals[s] for r in rows]) for s in judge.feature_sets},
                     groups)


def mix_summary(judge: Judge, plan: Plan, records: dict[tuple, Record]) -> dict[str, Any]:
    """Per pair and system (unchanged, each pure conversion, the mixture): the judge's mean
    probability of each of the two emotions and of every class, and DNSMOS OVRL."""
    heard, reference = plan.condition.name, _reference(judge, plan, records)
    pairs = {}
    for a, b in pairs_of(plan):
        systems = {"unchanged": ("source", "neutral", 0.0),
                   "resynthesis": ("resynthesis", "neutral", 0.0), a: ("convert", a, 1.0),
                   b: ("convert", b, 1.0), "mixture": ("convert", mixture(a, b), 1.0)}
        out = {}
        for name, (recipe, emotion, intensity) in systems.items():
            chosen = [records[(heard, recipe, s.filepath, emotion, intensity)]
                      for s in plan.sources]
            features = {s: np.stack([r.functionals[s] for r in chosen])
                        for s in judge.feature_sets}
            p = judge.probabilities(features, [s.speaker for s in plan.sources], reference)
            out[name] = {"p_a": float(np.mean(p[:, CLASSES.index(a)])),
                         "p_b": float(np.mean(p[:, CLASSES.index(b)])),
                         "dnsmos_ovrl": float(np.mean([r.dnsmos["ovrl"] for r in chosen])),
                         "p_mean": dict(zip(CLASSES, map(float, p.mean(axis=0))))}
        pairs[f"{a}+{b}"] = {"a": a, "b": b, "n": len(plan.sources), "systems": out}
    return {"pairs": pairs}


def mix_lines(summary: dict[str, Any]) -> list[str]:
    """The report's table: for each pair, both probabilities and DNSMOS per system."""
    if not summary["pairs"]:
        return ["No pair of emotions measured: the evaluated emotions hold none of "
                f"{', '.join('+'.join(p) for p in MIX_PAIRS)}."]
    lines = ["| mixture (0.5/0.5, intensity 1) | p(A): unchanged (resynthesised) / A / B / **mix** "
             "| p(B): unchanged (resynthesised) / A / B / **mix** | DNSMOS: A / B / **mix** "
             "| heard as both | the mix's likeliest classes |", "|---|---|---|---|---|---|"]
    for pair in summary["pairs"].values():
        s = pair["systems"]
        a, b = pair["a"], pair["b"]
        p_a, p_b = (f"{s['unchanged'][p]:.2f} ({s['resynthesis'][p]:.2f}) / "
                    + " / ".join(f"{s[k][p]:.2f}" for k in (a, b, "mixture"))
                    for p in ("p_a", "p_b"))
        quality = " / ".join(f"{s[k]['dnsmos_ovrl']:.2f}" for k in (a, b, "mixture"))
        both = (s["mixture"]["p_a"] > s["unchanged"]["p_a"]
                and s["mixture"]["p_b"] > s["unchanged"]["p_b"]
                and s["mixture"]["dnsmos_ovrl"] >= min(s[a]["dnsmos_ovrl"], s[b]["dnsmos_ovrl"]))
        top = sorted(s["mixture"]["p_mean"].items(), key=lambda kv: -kv[1])[:3]
        heard = ", ".join(f"{c} {p:.2f}" for c, p in top)
        lines.append(f"| {a} + {b} | {p_a} | {p_b} | {quality} | {'yes' if both else 'no'} "
                     f"| {heard} |")
    return lines
