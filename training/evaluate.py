"""Score a model bundle as it ships: each conversion via the streaming engine, judged on real takes.

Usage::

    rtconvert-evaluate --bundle rtconvert/models/default --root ../shared/data \\
        -o eval.md --json eval.json

Each neutral take of the validation speakers (the bundle's ``training.valid_speakers``;
for a bundle trained on some sentences only, the sentences it never saw) is turned into
each emotion by five systems, all at the corpus rate through
:class:`rtconvert.engine.engine.Engine` with the silence gate off:

``unchanged``    the neutral take itself, no vocoder;
``resynthesis``  the neutral take through the engine at intensity 0;
``f0_only``      the engine at intensity 1 with the identity in place of the generator
                 (prosody statistics only, spectrum untouched);
``converter``    the bundle at intensity 1;
``ceiling``      the real strong emotional take through the engine at intensity 0.

Each output is compared with the same speaker's real strong takes of the same sentence
(the ceiling with the take it was made from): recognition by the emotion judge
(:mod:`training.judge`) and its probability of the target, MCD and log-F0 RMSE and
Pearson r on DTW-aligned frames (:mod:`training.measures`), and DNSMOS P.835/P.808.
The judge z-scores each output within its set: one speaker's neutral member plus the
outputs of every source take (the neutral member is the resynthesis for ``converter``
and ``f0_only``, and the unchanged take or its resynthesis, eight times over, for
``unchanged`` and ``resynthesis``), so each set is balanced like the real data. The
intensity curve is the judge's mean probability of the target at five intensities.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rtconvert.bundle import Bundle, load_bundle
from rtconvert.cli.entry import ArgumentParser, existing_folder, run_command
from rtconvert.errors import RtconvertError
from rtconvert.files import check_output, write_text

from .corpus import Utterance
from .eval_jobs import Record, RenderJob, run_job
from .eval_report import Scored, json_safe, markdown, summarise
from .index import scan
from .jobs import map_jobs
from .judge import CLASSES, Judge, load_judge
from .judge_data import load_or_fit_judge

#: Intensities of the judge's curve; 1 is the ``converter`` system.
INTENSITY_CURVE = (0.0, 0.25, 0.5, 0.75, 1.0)
SYSTEMS = ("unchanged", "resynthesis", "f0_only", "converter", "ceiling")
STRONG = 3


class EvaluationError(RtconvertError):
    """The data or options do not allow an evaluation."""


@dataclass(frozen=True)
class EvaluationOptions:
    """What to evaluate and how; ``None`` means the bundle's own choice."""

    speakers: tuple[str, ...] | None = None  # default: the bundle's validation speakers
    emotions: tuple[str, ...] | None = None  # default: every emotion of the bundle
    sentences: tuple[str, ...] | None = None  # default: all, or those the bundle never saw
    workers: int = 2  # processes
    cache_dir: Path | None = Path("cache/evaluate")  # functionals and fitted judges
    progress: bool = True


@dataclass
class Plan:
    """The takes one evaluation uses."""

    speakers: list[str]
    emotions: list[str]
    sentences: list[str]
    held_out_sentence: bool
    sources: list[Utterance]  # the neutral takes that are converted
    strong: list[Utterance]  # real strong takes of the emotions, same speakers and sentences
    real: list[Utterance]  # every take of the speakers and sentences (judge accuracy)
    training_speakers: list[str] = field(default_factory=list)


def _matches(sentence: str, names: list[str]) -> bool:
    """``RAVDESS_01`` matches ``RAVDESS_01`` and ``01``."""
    return any(sentence == n or sentence.endswith("_" + n) for n in names)


def _select_sentences(bundle: Bundle, available: list[str],
                      requested: tuple[str, ...] | None) -> tuple[list[str], bool]:
    """The sentences to evaluate and whether the bundle never saw them."""
    trained = bundle.metadata.get("training", {}).get("sentences")
    held_out = trained is not None and not all(_matches(s, list(trained)) for s in available)
    sentences = [s for s in available if not (held_out and _matches(s, list(trained)))]
    if requested is not None:
        sentences = [s for s in sentences if _matches(s, list(requested))]
    if not sentences:
        raise EvaluationError(f"no sentence left to evaluate (available {available}, bundle "
                              f"trained on {trained or 'all'}, requested {requested or 'all'})")
    return sentences, held_out


def make_plan(bundle: Bundle, utterances: list[Utterance], options: EvaluationOptions) -> Plan:
    """Choose speakers, emotions, sentences and takes.

    Parameters
    ----------
    bundle : Bundle
        Its metadata names the validation speakers (``training.valid_speakers``) and, for
        a model trained on some sentences only, those sentences (``training.sentences``,
        ``RAVDESS_01`` or ``01``; missing means all).
    utterances : list of Utterance
        Every RAVDESS take under the dataset root.
    options : EvaluationOptions

    Raises
    ------
    EvaluationError
        If no speaker, emotion or sentence is left, or a speaker has no neutral take.
    """
    valid = bundle.metadata.get("training", {}).get("valid_speakers")
    speakers = list(options.speakers or valid or [])
    if not speakers:
        raise EvaluationError(f"bundle {bundle.path}: metadata names no training.valid_speakers; "
                              "pass --speakers")
    emotions = list(options.emotions or bundle.emotions)
    unknown = sorted(set(emotions) - set(bundle.emotions))
    if unknown:
        raise EvaluationError(f"emotions {unknown} are not in the bundle "
                              f"({', '.join(bundle.emotions)})")
    mine = [u for u in utterances if u.speaker in speakers]
    missing = sorted(set(speakers) - {u.speaker for u in mine if u.emotion == "neutral"})
    if missing:
        raise EvaluationError(f"no neutral takes of {', '.join(missing)} under the dataset root")
    sentences, held_out = _select_sentences(bundle, sorted({u.sentence for u in mine}),
                                            options.sentences)
    real = [u for u in mine if u.sentence in sentences]
    return Plan(speakers, emotions, sentences, held_out,
                sources=[u for u in real if u.emotion == "neutral"],
                strong=[u for u in real if u.emotion in emotions and u.intensity == STRONG],
                real=real,
                training_speakers=sorted({u.speaker for u in utterances} - set(speakers)
                                         - set(valid or [])))


def _references(plan: Plan, source: Utterance, emotions: list[str]) -> tuple:
    """(emotion, real strong takes of the source's speaker and sentence) per emotion."""
    return tuple((e, tuple(t.filepath for t in plan.strong if t.speaker == source.speaker
                           and t.sentence == source.sentence and t.emotion == e))
                 for e in emotions)


def make_jobs(plan: Plan, base: RenderJob) -> list[RenderJob]:
    """Every audio the evaluation renders and measures (``base`` holds the shared fields)."""
    neutral = {u.filepath for u in plan.sources}
    measured = neutral | {t.filepath for t in plan.strong}  # DNSMOS for the tables' takes
    jobs = [replace(base, take=u.filepath, recipe="source", quality=u.filepath in measured,
                    references=_references(plan, u, plan.emotions) if u.filepath in neutral else ())
            for u in plan.real]
    for source in plan.sources:
        references = _references(plan, source, plan.emotions)
        jobs.append(replace(base, take=source.filepath, recipe="resynthesis", quality=True,
                            references=references))
        for emotion in plan.emotions:
            target = tuple(r for r in references if r[0] == emotion)
            jobs.append(replace(base, take=source.filepath, recipe="f0_only", emotion=emotion,
                                intensity=1.0, quality=True, references=target))
            jobs.extend(replace(base, take=source.filepath, recipe="convert", emotion=emotion,
                                intensity=a, quality=a == 1.0,
                                references=target if a == 1.0 else ())
                        for a in INTENSITY_CURVE)
    jobs.extend(replace(base, take=t.filepath, recipe="resynthesis", quality=True,
                        references=((t.emotion, (t.filepath,)),)) for t in plan.strong)
    return jobs


@dataclass
class Member:
    """One audio in a judged set: its set, the class it should be, what was measured."""

    group: tuple[str, str]  # (system, speaker)
    target: str  # "neutral" for the set's neutral member
    record: Record


def system_members(system: str, plan: Plan, records: dict[tuple, Record],
                   intensity: float = 1.0) -> Iterator[Member]:
    """The judged sets of one system, one per speaker: neutral members and outputs.

    Parameters
    ----------
    system : str
        One of ``SYSTEMS`` or ``"real"`` (the real neutral and strong takes).
    plan : Plan
    records : dict
        ``Record`` by ``RenderJob.key``, for every job of :func:`make_jobs`.
    intensity : float
        For ``converter``: which point of ``INTENSITY_CURVE``.

    Yields
    ------
    Member
        Per source take its neutral member (the take for ``unchanged``, its resynthesis
        otherwise) and one output per emotion; for ``ceiling`` and ``real`` the neutral
        and strong takes, resynthesised or as they are.
    """
    if system in ("ceiling", "real"):
        recipe = "resynthesis" if system == "ceiling" else "source"
        for take in plan.sources + plan.strong:
            yield Member((system, take.speaker), take.emotion,
                         records[(recipe, take.filepath, "neutral", 0.0)])
        return
    neutral_recipe = "source" if system == "unchanged" else "resynthesis"
    name = system if system != "converter" or intensity == 1.0 else f"converter@{intensity}"
    for source in plan.sources:
        neutral = records[(neutral_recipe, source.filepath, "neutral", 0.0)]
        yield Member((name, source.speaker), "neutral", neutral)
        for emotion in plan.emotions:
            if system in ("unchanged", "resynthesis"):
                record = neutral
            elif system == "f0_only":
                record = records[("f0_only", source.filepath, emotion, 1.0)]
            else:
                record = records[("convert", source.filepath, emotion, intensity)]
            yield Member((name, source.speaker), emotion, record)


def judge_members(judge: Judge, members: list[Member]) -> list[Scored]:
    """The judge's verdict on every non-neutral member, z-scored within its group."""
    features = {s: np.stack([m.record.functionals[s] for m in members])
                for s in judge.feature_sets}
    probabilities = judge.probabilities(features, [m.group for m in members])
    classes = list(CLASSES)
    return [Scored(m.target, float(p[classes.index(m.target)]),
                   classes[int(np.argmax(p))] == m.target,
                   m.record.distances.get(m.target, []), m.record.dnsmos, m.record.peak)
            for m, p in zip(members, probabilities) if m.target != "neutral"]


def real_accuracies(judge: Judge, plan: Plan, records: dict) -> dict[str, float]:
    """The judge on real takes: all of them (8 classes), and the strong ones in sets of
    neutral + strong takes (as the ceiling is judged)."""
    takes = plan.real
    members = [Member(("real", u.speaker), u.emotion,
                      records[("source", u.filepath, "neutral", 0.0)]) for u in takes]
    features = {s: np.stack([m.record.functionals[s] for m in members]) for s in judge.feature_sets}
    predicted = np.array(CLASSES)[judge.probabilities(
        features, [m.group for m in members]).argmax(1)]
    all_accuracy = float(np.mean(predicted == np.array([u.emotion for u in takes])))
    strong = [m for m, u in zip(members, takes) if u.emotion == "neutral" or u.intensity == STRONG]
    scored = judge_members(judge, strong)
    return {"all": all_accuracy, "strong": float(np.mean([s.hit for s in scored])),
            "n_all": len(takes), "n_strong": len(scored)}


def evaluate(bundle: Bundle, root: Path, options: EvaluationOptions = EvaluationOptions(),
             judge: Judge | None = None) -> dict[str, Any]:
    """Render, measure and judge everything; see the module docstring.

    Parameters
    ----------
    bundle : Bundle
        The model under test.
    root : Path
        Dataset root holding RAVDESS.
    options : EvaluationOptions
    judge : Judge, optional
        Default: the judge fitted on every other speaker's takes, from
        ``options.cache_dir`` or fitted now (minutes) and saved there.

    Returns
    -------
    dict
        JSON-ready: ``systems`` and ``intensity_curve`` (see :func:`summarise`), ``judge``
        and ``setup``; :func:`markdown` formats it.

    Raises
    ------
    EvaluationError
        If the root holds no RAVDESS takes or the options leave nothing to evaluate.
    """
    started = time.perf_counter()
    if not root.is_dir():
        raise EvaluationError(f"dataset root {root} not found")
    utterances = [u for u in scan(root)[0] if u.corpus == "RAVDESS"]
    if not utterances:
        raise EvaluationError(f"no RAVDESS takes under {root}")
    plan = make_plan(bundle, utterances, options)
    if judge is None:
        if not plan.training_speakers:
            raise EvaluationError("no training speakers left to fit the judge on")
        if options.cache_dir is None:
            raise EvaluationError("fitting the judge needs a cache folder (or pass --judge)")
        training = [u for u in utterances if u.speaker in plan.training_speakers]
        judge = load_or_fit_judge(training, root, bundle, options.cache_dir,
                                  workers=options.workers, progress=options.progress)
    judge_done = time.perf_counter()
    cache = str(options.cache_dir / "functionals") if options.cache_dir else None
    base = RenderJob(str(root), str(bundle.path), cache, judge.feature_sets, "", "source")
    jobs = make_jobs(plan, base)
    records = {r.key: r for r in map_jobs(run_job, jobs, options.workers, "evaluate",
                                          options.progress)}
    systems = {s: judge_members(judge, list(system_members(s, plan, records)))
               for s in SYSTEMS + ("real",)}
    curve = {a: judge_members(judge, list(system_members("converter", plan, records, a)))
             for a in INTENSITY_CURVE}
    summary = summarise(systems, curve, plan.emotions)
    summary["judge"] = {"feature_sets": list(judge.feature_sets), "c": judge.c,
                        "cv_accuracy": judge.cv_accuracy, "cv_table": judge.cv_table,
                        "trained_on": judge.info, "real": real_accuracies(judge, plan, records)}
    summary["setup"] = {"bundle": str(bundle.path), "root": str(root), "speakers": plan.speakers,
                        "sentences": plan.sentences, "held_out_sentence": plan.held_out_sentence,
                        "emotions": plan.emotions, "n_sources": len(plan.sources),
                        "n_jobs": len(jobs), "workers": options.workers,
                        "wall_time_s": time.perf_counter() - started,
                        "judge_time_s": judge_done - started}
    return json_safe(summary)


def _names(text: str | None) -> tuple[str, ...] | None:
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="rtconvert-evaluate", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--root", type=Path, default=Path("../shared/data"),
                        help="dataset root holding RAVDESS (default: %(default)s)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="markdown report")
    parser.add_argument("--json", type=Path, default=None, help="every number, as JSON")
    parser.add_argument("--cache", type=Path, default=Path("cache/evaluate"),
                        help="functionals and fitted judges (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default: %(default)s)")
    parser.add_argument("--speakers", help="comma-separated, e.g. RAVDESS_01 (default: the "
                        "bundle's validation speakers)")
    parser.add_argument("--emotions", help="comma-separated (default: all of the bundle's)")
    parser.add_argument("--sentences", help="comma-separated, e.g. RAVDESS_02 (default: all, "
                        "or those the bundle was not trained on)")
    parser.add_argument("--judge", type=Path, default=None,
                        help="a saved judge (joblib) instead of the cached or newly fitted one")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--debug", action="store_true", help="tracebacks on errors")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.workers < 1:
            raise EvaluationError(f"--workers is {args.workers}, need at least 1")
        for output in (args.output, args.json):
            if output is not None:
                check_output(output)
        existing_folder(args.root, "--root")
        bundle = load_bundle(args.bundle)
        judge = None
        if args.judge is not None:
            if not args.judge.is_file():
                raise EvaluationError(f"judge {args.judge}: no such file")
            try:
                judge = load_judge(args.judge)
            except (ValueError, EOFError, ImportError, AttributeError) as exc:
                raise EvaluationError(f"judge {args.judge}: cannot load ({exc})") from exc
        options = EvaluationOptions(_names(args.speakers), _names(args.emotions),
                                    _names(args.sentences), args.workers, args.cache,
                                    not args.no_progress)
        summary = evaluate(bundle, args.root, options, judge)
    except (RtconvertError, OSError) as exc:
        if args.debug:
            raise
        print(f"rtconvert-evaluate: error: {exc}", file=sys.stderr)
        return 1
    report = markdown(summary)
    print(report)
    if args.output:
        write_text(args.output, report + "\n")
    if args.json:
        write_text(args.json, json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":  # python -m, as the console script: one error path
    sys.exit(run_command("rtconvert-evaluate", main, strip_debug=False))
