"""Build, derive and check data.csv, the index of emotional speech files under a dataset root.

Usage::

    rtconvert-index build ROOT -o index.csv      # scan a corpus folder by naming convention
    rtconvert-index from-seed SEED -o data.csv   # the notebooks' index, paths made relative
    rtconvert-index check data.csv --root ROOT   # which rows exist on disk, which are unreadable
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import soundfile

from rtconvert.cli.entry import ArgumentParser, existing_file, existing_folder, run_command
from rtconvert.errors import ConfigError
from rtconvert.files import atomic_output, check_output

from .corpus import AUDIO_SUFFIXES, COLUMNS, Utterance, label_file

#: The part of the seed's absolute paths that precedes the corpus layout.
SEED_PREFIX = "Emotional Speech Audio/"


def read_index(path: str | Path) -> list[Utterance]:
    """Rows of a data.csv-style file."""
    with open(path, newline="") as handle:
        return [Utterance.from_row(row) for row in csv.DictReader(handle)]


def write_index(path: str | Path, utterances: list[Utterance]) -> None:
    """Write rows with the data.csv columns, in the given order (atomically)."""
    with atomic_output(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(u.as_row() for u in utterances)


def _crema_genders(root: Path) -> dict[str, str]:
    """Actor id -> gender from CREMA-D's VideoDemographics.csv, wherever it lies under root."""
    genders: dict[str, str] = {}
    for table in root.rglob("VideoDemographics.csv"):
        with open(table, newline="") as handle:
            for row in csv.DictReader(handle):
                sex = row.get("Sex", "").strip().lower()
                if sex in ("male", "female"):
                    genders[row["ActorID"].strip()] = sex
    return genders


def scan(root: str | Path) -> tuple[list[Utterance], list[str]]:
    """Label every .wav/.flac under ``root`` by its corpus's naming convention.

    Returns
    -------
    utterances : list of Utterance
        Sorted by path; paths are relative to ``root``.
    unrecognised : list of str
        Audio files that match no convention.
    """
    root = Path(root)
    genders = _crema_genders(root)
    utterances, unrecognised = [], []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        relative = path.relative_to(root).as_posix()
        utterance = label_file(relative, genders)
        (utterances if utterance else unrecognised).append(utterance or relative)
    return utterances, unrecognised


def from_seed(seed_csv: str | Path) -> tuple[list[Utterance], list[str]]:
    """data.csv rows from the notebooks' index, keeping its emotion and intensity labels.

    Returns the rows in the seed's order and a list of rows whose labels disagree with
    what the file name says (reported, not silently fixed).
    """
    utterances, disagreements = [], []
    with open(seed_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            relative = row["file_path"].split(SEED_PREFIX, 1)[-1]
            parsed = label_file(relative)
            if parsed is None:
                raise ConfigError(f"{seed_csv}: no naming convention matches {relative}")
            seed_labels = (row["emotion"], int(row["emotional_intensity"]))
            if seed_labels != (parsed.emotion, parsed.intensity):
                disagreements.append(f"{relative}: seed says {seed_labels}, name says "
                                     f"{(parsed.emotion, parsed.intensity)}")
            utterances.append(Utterance(relative, seed_labels[0], seed_labels[1], parsed.corpus,
                                        parsed.speaker, parsed.gender, parsed.sentence))
    return utterances, disagreements


@dataclass
class CheckReport:
    """What ``check`` found for an index and a root."""

    n_rows: int = 0
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "path: reason"

    def summary(self) -> str:
        return (f"{self.n_rows} rows: {len(self.found)} readable on disk, "
                f"{len(self.missing)} missing, {len(self.unreadable)} unreadable")


def corpus_folders(root: Path) -> dict[str, Path]:
    """Folders directly under ``root`` by lower-case name (ravdess24k for RAVDESS), for resolve."""
    if not root.is_dir():
        return {}
    return {child.name.lower(): child for child in root.iterdir() if child.is_dir()}


def resolve(root: Path, filepath: str, folders: dict[str, Path] | None = None) -> Path | None:
    """The file a row names under ``root``.

    Also finds it when it was converted to another suffix (.wav -> .flac) or when the
    corpus folder carries a suffix of its own (RAVDESS/ -> ravdess24k/).
    """
    first, _, rest = filepath.partition("/")
    bases = [root / first]
    for name, folder in (folders or {}).items():
        if name != first.lower() and name.startswith(first.lower()):
            bases.append(folder)
    for base in bases:
        candidate = base / rest
        for path in [candidate] + [candidate.with_suffix(s) for s in AUDIO_SUFFIXES]:
            if path.is_file():
                return path
    return None


def check(utterances: list[Utterance], root: str | Path) -> CheckReport:
    """Which rows exist under ``root`` and open as audio; never raises for a bad file."""
    root = Path(root)
    report = CheckReport(n_rows=len(utterances))
    folders = corpus_folders(root)
    for utterance in utterances:
        path = resolve(root, utterance.filepath, folders)
        if path is None:
            report.missing.append(utterance.filepath)
            continue
        problem = decode_problem(path)
        if problem is None:
            report.found.append(utterance.filepath)
        else:
            report.unreadable.append(f"{utterance.filepath}: {problem}")
    return report


def decode_problem(path: Path, block: int = 65536) -> str | None:
    """Why the audio file at ``path`` does not decode completely; None if it does.

    Every sample is decoded: a truncated FLAC or WAV keeps a header that promises
    samples its data no longer holds, which ``soundfile.info`` alone cannot see.
    """
    try:
        with soundfile.SoundFile(str(path)) as file:
            promised, decoded = file.frames, 0
            while len(data := file.read(block, dtype="float32")):
                decoded += len(data)
    except Exception as exc:  # noqa: BLE001 - a report, never a crash: any decoder failure
        return str(exc) or type(exc).__name__
    if promised == 0:
        return "no samples"
    if decoded < promised:
        return f"truncated: {decoded} of its {promised} samples decode"
    return None


def _check_arguments(args: argparse.Namespace) -> None:
    """Refuse missing inputs and unwritable outputs before any work."""
    if args.command == "build":
        existing_folder(args.root, "ROOT")
    elif args.command == "from-seed":
        existing_file(args.seed, "SEED")
    else:
        existing_file(args.index, "INDEX")
        existing_folder(args.root, "--root")
    if args.command != "check":
        check_output(args.output)


def _print_counts(utterances: list[Utterance]) -> None:
    counts = Counter((u.corpus, u.emotion, u.intensity) for u in utterances)
    for (corpus, emotion, intensity), n in sorted(counts.items()):
        print(f"  {corpus:8s} {emotion:10s} intensity {intensity}: {n}")


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="rtconvert-index", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="index the corpus files under ROOT")
    build.add_argument("root", type=Path)
    build.add_argument("-o", "--output", type=Path, required=True)
    seed = commands.add_parser("from-seed", help="derive data.csv from the notebooks' index")
    seed.add_argument("seed", type=Path)
    seed.add_argument("-o", "--output", type=Path, required=True)
    checker = commands.add_parser("check", help="report which rows exist and are readable")
    checker.add_argument("index", type=Path)
    checker.add_argument("--root", type=Path, required=True)
    checker.add_argument("--list", action="store_true", help="list every missing/bad file")
    args = parser.parse_args(argv)
    _check_arguments(args)

    if args.command == "build":
        utterances, unrecognised = scan(args.root)
        write_index(args.output, utterances)
        print(f"{args.output}: {len(utterances)} rows; {len(unrecognised)} audio files "
              "matched no corpus convention")
        _print_counts(utterances)
        for name in unrecognised[:20]:
            print(f"  skipped {name}")
    elif args.command == "from-seed":
        utterances, disagreements = from_seed(args.seed)
        write_index(args.output, utterances)
        print(f"{args.output}: {len(utterances)} rows; {len(disagreements)} seed labels "
              "disagree with their file names")
        for line in disagreements:
            print(f"  {line}")
    else:
        report = check(read_index(args.index), args.root)
        print(f"{args.index} under {args.root}: {report.summary()}")
        shown = report.missing + report.unreadable
        for line in shown if args.list else shown[:10]:
            print(f"  {line}")
        if not args.list and len(shown) > 10:
            print(f"  ... and {len(shown) - 10} more (--list shows all)")
    return 0


if __name__ == "__main__":  # python -m, as the console script: one error path
    sys.exit(run_command("rtconvert-index", main))
