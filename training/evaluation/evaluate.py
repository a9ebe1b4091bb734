"""Score a model bundle as it ships: each conversion via the streaming engine, judged on real takes.

Usage::

    rtconvert-evaluate --bundle rtconvert/models/default --root ../shared/data \\
        -o eval.md --json eval.json [--heldout-bundle runs/bundles/heldout]

Every set of :mod:`training.evaluation.sets` (``--sets``; default all: RAVDESS validation
speakers, EmoDB, the validation speakers in a room, at a low mic gain, and emotion mixtures
(:mod:`training.evaluation.mixtures`, judged apart)) converts each
neutral take of its speakers to each emotion by five systems, all at the corpus rate
through :class:`rtconvert.engine.engine.Engine` with the silence gate off:

``unchanged``    the neutral take itself, no vocoder;
``resynthesis``  the neutral take through the engine at intensity 0;
``f0_only``      the engine at intensity 1 with the identity in place of the generator
                 (prosody statistics only, spectrum untouched);
``converter``    the bundle at intensity 1;
``ceiling``      the real emotional take through the engine at intensity 0.

Each output is compared with the same speaker's real emotional takes of the same sentence
(the ceiling with the take it was made from): recognition by the emotion judge
(:mod:`training.evaluation.judge`) and its probability of the target, MCD and log-F0 RMSE and
Pearson r on DTW-aligned frames (:mod:`training.evaluation.measures`), and DNSMOS P.835/P.808.
The judge z-scores each output within its set, by the set's yardstick: on RAVDESS the
outputs themselves (one speaker's neutral member plus the outputs of every source take;
the neutral member is the resynthesis for ``converter`` and ``f0_only``, and the unchanged
take or its resynthesis, eight times over, for ``unchanged`` and ``resynthesis``); on
EmoDB and in the room the speaker's real takes of the set, as recorded there (resynthesised
for the systems that run the engine). The intensity curve is the judge's mean probability
of the target at five intensities. ``--heldout-bundle`` adds the validation set scored with
a bundle trained on one sentence only (the ``heldout`` row).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rtconvert.bundle import Bundle, load_bundle
from rtconvert.cli.entry import ArgumentParser, existing_folder, run_command
from rtconvert.errors import RtconvertError
from rtconvert.files import check_output, write_text

from ..corpus import Utterance
from ..index import scan
from ..jobs import map_jobs
from .judge import CLASSES, Judge, load_judge
from .judge_data import load_or_fit_judge
from .mixtures import mix_jobs, mix_summary
from .renders import RenderJob, run_job
from .report import json_safe, level_summary, markdown, summarise
from .sets import (
    CLEAN,
    SET_NAMES,
    EvaluationError,
    Plan,
    emodb_plan,
    level_plan,
    mix_plan,
    ravdess_plan,
    room_plan,
)
from .verdicts import SYSTEMS, judge_system, real_accuracy

#: Intensities of the judge's curve; 1 is the ``converter`` system.
INTENSITY_CURVE = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class EvaluationOptions:
    """What to evaluate and how; ``None`` means the bundle's own choice."""

    speakers: tuple[str, ...] | None = None  # default: the bundle's validation speakers
    emotions: tuple[str, ...] | None = None  # default: every emotion of the bundle
    sentences: tuple[str, ...] | None = None  # default: all, or those the bundle never saw
    sets: tuple[str, ...] = SET_NAMES  # of eval_sets.SET_NAMES
    workers: int = 2  # processes
    cache_dir: Path | None = Path("cache/evaluate")  # functionals and fitted judges
    progress: bool = True


def _references(plan: Plan, source: Utterance, emotions: list[str]) -> tuple:
    """(emotion, real takes of the source's speaker and sentence) per emotion."""
    return tuple((e, tuple(t.filepath for t in plan.targets if t.speaker == source.speaker
                           and t.sentence == source.sentence and t.emotion == e))
                 for e in emotions)


def _conversions(plan: Plan, base: RenderJob) -> list[RenderJob]:
    """Each source's resynthesis and conversions (F0-only, the curve) in ``base``'s condition."""
    intensities = INTENSITY_CURVE if plan.curve else (1.0,)
    jobs = []
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
                        for a in intensities)
    return jobs


def make_jobs(plan: Plan, base: RenderJob) -> list[RenderJob]:
    """Every audio the evaluation of ``plan`` renders and measures (``base``: shared fields)."""
    base = replace(base, condition=plan.condition, pitch=plan.name == "level")
    if plan.name == "mix":
        return mix_jobs(plan, base)
    if plan.name == "level":  # the sources' conversions at both levels, nothing else
        clean = replace(base, condition=CLEAN)
        return [replace(job, references=(), quality=False) for b in (clean, base)
                for job in _conversions(plan, b) if job.recipe != "f0_only"]
    neutral = {u.filepath for u in plan.sources}
    measured = neutral | {t.filepath for t in plan.targets}  # DNSMOS for the tables' takes
    jobs = [replace(base, take=u.filepath, recipe="source", quality=u.filepath in measured,
                    references=_references(plan, u, plan.emotions) if u.filepath in neutral else ())
            for u in plan.real]
    jobs += _conversions(plan, base)
    jobs.extend(replace(base, take=t.filepath, recipe="resynthesis", quality=True,
                        references=((t.emotion, (t.filepath,)),)) for t in plan.targets)
    return jobs


def evaluate_plan(plan: Plan, bundle: Bundle, root: Path, judge: Judge,
                  options: EvaluationOptions) -> dict[str, Any]:
    """Render, measure and judge one set; JSON-ready (see :func:`summarise`)."""
    started = time.perf_counter()
    cache = str(options.cache_dir / "functionals") if options.cache_dir else None
    base = RenderJob(str(root), str(bundle.path), cache, judge.feature_sets, "", "source")
    jobs = make_jobs(plan, base)
    records = {r.key: r for r in map_jobs(run_job, jobs, options.workers,
                                          f"evaluate {plan.name}", options.progress)}
    if plan.name == "mix":
        summary = mix_summary(judge, plan, records)
    elif plan.name == "level":
        summary = level_summary(
            {c: judge_system(judge, plan, records, "converter", condition=c)
             for c in ("clean", plan.condition.name)},
            [records[("clean", "resynthesis", s.filepath, "neutral", 0.0)].lf0_median
             for s in plan.sources for _ in plan.emotions], plan.emotions, plan.condition.gain_db)
    else:
        systems = {s: judge_system(judge, plan, records, s) for s in SYSTEMS + ("real",)}
        curve = ({a: judge_system(judge, plan, records, "converter", a)
                  for a in INTENSITY_CURVE} if plan.curve else {})
        summary = summarise(systems, curve, plan.emotions)
        if plan.yardstick == "outputs":
            summary["judge_real"] = real_accuracy(judge, plan, records)
    summary["setup"] = {"set": plan.name, "bundle": str(bundle.path), "speakers": plan.speakers,
                        "sentences": plan.sentences, "held_out_sentence": plan.held_out_sentence,
                        "emotions": plan.emotions, "condition": plan.condition.name,
                        "yardstick": plan.yardstick, "classes": list(plan.classes or CLASSES),
                        "n_sources": len(plan.sources), "n_jobs": len(jobs),
                        "wall_time_s": time.perf_counter() - started}
    return json_safe(summary)


def make_plans(bundle: Bundle, utterances: list[Utterance], options: EvaluationOptions,
               heldout: Bundle | None = None) -> dict[str, tuple[Plan, Bundle]]:
    """Each set of ``options.sets`` (and ``heldout`` when given) with the bundle it scores."""
    unknown = sorted(set(options.sets) - set(SET_NAMES))
    if unknown:
        raise EvaluationError(f"--sets: unknown {', '.join(unknown)}; "
                              f"known: {', '.join(SET_NAMES)}")
    ravdess = [u for u in utterances if u.corpus == "RAVDESS"]
    needs_ravdess = set(options.sets) - {"emodb"} or heldout is not None
    if needs_ravdess and not ravdess:
        raise EvaluationError("no RAVDESS takes under the dataset root")
    plans: dict[str, tuple[Plan, Bundle]] = {}
    # --speakers names speakers of either corpus; each set takes its own.
    own = {corpus: tuple(s for s in options.speakers or () if s.startswith(corpus + "_"))
           or None for corpus in ("RAVDESS", "EmoDB")}
    valid = (ravdess_plan(bundle, ravdess, own["RAVDESS"], options.emotions, options.sentences)
             if set(options.sets) - {"emodb"} else None)
    for name in options.sets:
        if name == "emodb":
            plans[name] = (emodb_plan(bundle, utterances, options.emotions, own["EmoDB"]), bundle)
        else:
            plan = {"valid": valid, "room": room_plan(valid), "level": level_plan(valid),
                    "mix": mix_plan(valid)}[name]
            plans[name] = (plan, bundle)
    if heldout is not None:
        plan = ravdess_plan(heldout, ravdess, own["RAVDESS"], options.emotions)
        plans["heldout"] = (replace(plan, name="heldout"), heldout)
    return plans


def _judge_speakers(bundle: Bundle, utterances: list[Utterance], plans: dict) -> list[str]:
    """RAVDESS speakers neither evaluated nor held out by the bundle: the judge's training."""
    valid = set(bundle.metadata.get("training", {}).get("valid_speakers") or [])
    evaluated = {s for plan, _ in plans.values() for s in plan.speakers}
    return sorted({u.speaker for u in utterances if u.corpus == "RAVDESS"} - valid - evaluated)


def evaluate(bundle: Bundle, root: Path, options: EvaluationOptions = EvaluationOptions(),
             judge: Judge | None = None, heldout: Bundle | None = None) -> dict[str, Any]:
    """Render, measure and judge every set; see the module docstring.

    Parameters
    ----------
    bundle : Bundle
        The model under test.
    root : Path
        Dataset root holding RAVDESS (and EmoDB for the ``emodb`` set).
    options : EvaluationOptions
    judge : Judge, optional
        Default: the judge fitted on every other RAVDESS speaker's takes, from
        ``options.cache_dir`` or fitted now (minutes) and saved there.
    heldout : Bundle, optional
        A bundle trained on some sentences only, scored on the validation set's others.

    Returns
    -------
    dict
        JSON-ready: ``sets`` (each as :func:`evaluate_plan` gives it), ``judge`` and
        ``setup``; :func:`markdown` formats it.

    Raises
    ------
    EvaluationError
        If the root holds no takes of a set or the options leave nothing to evaluate.
    """
    started = time.perf_counter()
    if not root.is_dir():
        raise EvaluationError(f"dataset root {root} not found")
    utterances = scan(root)[0]
    plans = make_plans(bundle, utterances, options, heldout)
    if judge is None:
        speakers = _judge_speakers(bundle, utterances, plans)
        if not speakers:
            raise EvaluationError("no training speakers left to fit the judge on")
        if options.cache_dir is None:
            raise EvaluationError("fitting the judge needs a cache folder (or pass --judge)")
        training = [u for u in utterances if u.speaker in speakers]
        judge = load_or_fit_judge(training, root, bundle, options.cache_dir,
                                  workers=options.workers, progress=options.progress)
    judge_done = time.perf_counter()
    sets = {name: evaluate_plan(plan, scored, root, judge, options)
            for name, (plan, scored) in plans.items()}
    return json_safe({
        "sets": sets,
        "judge": {"feature_sets": list(judge.feature_sets), "c": judge.c,
                  "cv_accuracy": judge.cv_accuracy, "cv_table": judge.cv_table,
                  "trained_on": judge.info},
        "setup": {"bundle": str(bundle.path), "root": str(root), "workers": options.workers,
                  "wall_time_s": time.perf_counter() - started,
                  "judge_time_s": judge_done - started}})


def _names(text: str | None) -> tuple[str, ...] | None:
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="rtconvert-evaluate", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--root", type=Path, default=Path("../shared/data"),
                        help="dataset root holding RAVDESS and EmoDB (default: %(default)s)")
    parser.add_argument("--sets", default=",".join(SET_NAMES),
                        help="comma-separated sets to score (default: %(default)s)")
    parser.add_argument("--heldout-bundle", type=Path, default=None,
                        help="a bundle trained on one sentence: adds the held-out sentence row")
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
        bundle = load_bundle(args.bundle)  # before the root: its error is the one to fix first
        heldout = load_bundle(args.heldout_bundle) if args.heldout_bundle else None
        existing_folder(args.root, "--root")
        judge = None
        if args.judge is not None:
            if not args.judge.is_file():
                raise EvaluationError(f"judge {args.judge}: no such file")
            try:
                judge = load_judge(args.judge)
            except (ValueError, EOFError, ImportError, AttributeError) as exc:
                raise EvaluationError(f"judge {args.judge}: cannot load ({exc})") from exc
        options = EvaluationOptions(_names(args.speakers), _names(args.emotions),
                                    _names(args.sentences), _names(args.sets) or (),
                                    args.workers, args.cache, not args.no_progress)
        if not options.sets:
            raise EvaluationError(f"--sets names no set; known: {', '.join(SET_NAMES)}")
        summary = evaluate(bundle, args.root, options, judge, heldout)
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
