"""The judge's verdicts on a set: which audios are judged together, z-scored by what."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .judge import CLASSES, Judge, Reference
from .renders import Record
from .report import Scored
from .sets import Plan

#: The systems each neutral take goes through (:mod:`training.evaluation.evaluate`).
SYSTEMS = ("unchanged", "resynthesis", "f0_only", "converter", "ceiling")
#: Systems whose audio is the engine's (their yardstick takes are resynthesised too).
ENGINE_SYSTEMS = ("resynthesis", "f0_only", "converter", "ceiling")


@dataclass
class Member:
    """One audio in a judged set: its set, the class it should be, what was measured."""

    group: tuple[str, str]  # (system, speaker)
    target: str  # "neutral" for the set's neutral member
    record: Record


def system_members(system: str, plan: Plan, records: dict[tuple, Record],
                   intensity: float = 1.0, condition: str | None = None) -> Iterator[Member]:
    """The judged sets of one system, one per speaker: neutral members and outputs.

    Parameters
    ----------
    system : str
        One of ``SYSTEMS`` or ``"real"`` (the real neutral and emotional takes).
    plan : Plan
    records : dict
        ``Record`` by ``RenderJob.key``, for every job of :func:`make_jobs`.
    intensity : float
        For ``converter``: which point of ``INTENSITY_CURVE``.
    condition : str, optional
        Whose records (default: the plan's condition).

    Yields
    ------
    Member
        Per source take its neutral member (the take for ``unchanged``, its resynthesis
        otherwise) and one output per emotion; for ``ceiling`` and ``real`` the neutral
        and emotional takes, resynthesised or as they are.
    """
    heard = condition or plan.condition.name
    if system in ("ceiling", "real"):
        recipe = "resynthesis" if system == "ceiling" else "source"
        for take in plan.sources + plan.targets:
            yield Member((system, take.speaker), take.emotion,
                         records[(heard, recipe, take.filepath, "neutral", 0.0)])
        return
    neutral_recipe = "source" if system == "unchanged" else "resynthesis"
    name = system if system != "converter" or intensity == 1.0 else f"converter@{intensity}"
    for source in plan.sources:
        neutral = records[(heard, neutral_recipe, source.filepath, "neutral", 0.0)]
        yield Member((name, source.speaker), "neutral", neutral)
        for emotion in plan.emotions:
            if system in ("unchanged", "resynthesis"):
                record = neutral
            elif system == "f0_only":
                record = records[(heard, "f0_only", source.filepath, emotion, 1.0)]
            else:
                record = records[(heard, "convert", source.filepath, emotion, intensity)]
            yield Member((name, source.speaker), emotion, record)


def yardstick(plan: Plan, records: dict[tuple, Record], members: list[Member]
              ) -> Reference | None:
    """The rows that z-score each group of ``members``: None where they z-score themselves.

    With the ``real`` yardstick, a group (system, speaker) is z-scored by that speaker's
    real takes of the set (its sources and targets), resynthesised by the engine for the
    systems whose audio the engine made.
    """
    if plan.yardstick == "outputs":
        return None
    takes = plan.sources + plan.targets
    features: dict[str, list] = {}
    groups = []
    for system, speaker in dict.fromkeys(m.group for m in members):
        recipe = "resynthesis" if system.split("@")[0] in ENGINE_SYSTEMS else "source"
        for take in (t for t in takes if t.speaker == speaker):
            record = records[(plan.condition.name, recipe, take.filepath, "neutral", 0.0)]
            for name, values in record.functionals.items():
                features.setdefault(name, []).append(values)
            groups.append((system, speaker))
    return Reference({name: np.stack(rows) for name, rows in features.items()}, groups)


def judge_members(judge: Judge, members: list[Member], reference: Reference | None = None,
                  classes: tuple[str, ...] = ()) -> list[Scored]:
    """The judge's verdict on every non-neutral member, z-scored within its group.

    ``classes`` restricts the judge's choice (and renormalises its probabilities) to the
    classes a set can hold; default all of ``CLASSES``.
    """
    features = {s: np.stack([m.record.functionals[s] for m in members])
                for s in judge.feature_sets}
    probabilities = judge.probabilities(features, [m.group for m in members], reference)
    names = list(classes or CLASSES)
    columns = [list(CLASSES).index(c) for c in names]
    probabilities = probabilities[:, columns]
    probabilities /= np.maximum(probabilities.sum(1, keepdims=True), 1e-12)
    return [Scored(m.target, float(p[names.index(m.target)]),
                   names[int(np.argmax(p))] == m.target,
                   m.record.distances.get(m.target, []), m.record.dnsmos, m.record.peak,
                   names[int(np.argmax(p))], m.record.lf0_median)
            for m, p in zip(members, probabilities) if m.target != "neutral"]


def judge_system(judge: Judge, plan: Plan, records: dict[tuple, Record], system: str,
                 intensity: float = 1.0, condition: str | None = None) -> list[Scored]:
    """:func:`judge_members` of one system's sets, by the plan's yardstick and classes."""
    members = list(system_members(system, plan, records, intensity, condition))
    return judge_members(judge, members, yardstick(plan, records, members), plan.classes)


def real_accuracy(judge: Judge, plan: Plan, records: dict) -> dict[str, float]:
    """The judge on every real take of the set, z-scored over each speaker's takes."""
    takes = plan.real
    members = [Member(("real", u.speaker), u.emotion,
                      records[(plan.condition.name, "source", u.filepath, "neutral", 0.0)])
               for u in takes]
    features = {s: np.stack([m.record.functionals[s] for m in members]) for s in judge.feature_sets}
    names = list(plan.classes or CLASSES)
    columns = [list(CLASSES).index(c) for c in names]
    chosen = judge.probabilities(features, [m.group for m in members])[:, columns].argmax(1)
    hits = np.array(names)[chosen] == np.array([u.emotion for u in takes])
    return {"all": float(np.mean(hits)), "n_all": len(takes)}
