"""The ``rtconvert`` command: parses arguments, calls the library, turns errors into one line."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .audiofile import load_audio, write_audio
from .config import FeatureConfig
from .errors import RtconvertError
from .features import FeatureError, analyze, synthesize

DEMO_TEXT = "Kids are talking by the door. Dogs are sitting by the door."


def _demo(args: argparse.Namespace) -> int:
    """WORLD analysis/resynthesis of a recording (or of espeak-ng speech): intensity 0."""
    config = FeatureConfig()
    source = args.input
    if source is None:
        if shutil.which("espeak-ng") is None:
            raise RtconvertError("no INPUT given and espeak-ng is not installed to make one")
        source = Path(tempfile.mkdtemp()) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(source), DEMO_TEXT], check=True)
    audio = load_audio(source, config.sample_rate)
    try:
        features = analyze(audio.samples, config)
    except FeatureError as exc:
        raise RtconvertError(f"{source}: {exc}") from exc
    output = synthesize(features, config)
    args.output.mkdir(parents=True, exist_ok=True)
    write_audio(args.output / "input.wav", audio.samples, config.sample_rate)
    write_audio(args.output / "resynthesized.wav", output, config.sample_rate)
    voiced = features.f0_hz[features.f0_hz > 0]
    print(f"{source}: {features.n_frames} frames, {len(voiced)} voiced, "
          f"median F0 {np.median(voiced) if len(voiced) else 0:.0f} Hz")
    print(f"wrote {args.output / 'input.wav'} and {args.output / 'resynthesized.wav'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtconvert", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="WORLD round trip of a recording or generated speech")
    demo.add_argument("input", nargs="?", type=Path)
    demo.add_argument("-o", "--output", type=Path, default=Path("demo"))
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except RtconvertError as exc:
        print(f"rtconvert: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
