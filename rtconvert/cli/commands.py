"""The ``rtconvert`` command: parses arguments, calls the library, turns errors into one line.

Each command imports what it needs when it runs (and only its own arguments are built),
so ``rtconvert --help`` and ``rtconvert devices`` start about as fast as Python with numpy;
``run`` and ``bench --loopback`` live in :mod:`.cli_live`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ConfigError
from ..profiles import PROFILES
from ..settings import Settings, choices
from .arguments import (
    add_headroom_argument,
    add_model_arguments,
    block_list,
    device_rate,
    file_gate,
    positive_int,
    positive_seconds,
)
from .entry import DEBUG_FLAG, ArgumentParser, run_command


def _convert(args: argparse.Namespace) -> int:
    """Convert a file through the streaming engine at the file's own rate, disk to disk."""
    from ..bundle import load_for_latency
    from ..offline.audiofile import output_format
    from ..offline.fileconvert import FileGate, convert_file

    output_format(args.output)  # the folder and the format, before any work
    bundle, profile = load_for_latency(args.model, args.latency)
    settings = Settings(emotion=args.emotion, intensity=args.intensity).validate(bundle.emotions)
    report = convert_file(bundle, args.input, args.output, settings, FileGate(args.gate),
                          args.block, profile=profile, denoise=args.denoise)
    if report.n_channels > 1:
        print(f"{args.input}: {report.n_channels} channels, downmixed to mono")
    print(f"wrote {args.output}: {settings.emotion} at intensity {settings.intensity}, "
          f"{report.n_samples / report.sample_rate:.2f} s at {report.sample_rate} Hz")
    print(report.describe())
    return 0


def _bench(args: argparse.Namespace) -> int:
    """Time the engine on speech, one row per block size.

    With ``--latency``, the other profile (its shipped model at its own block) takes turns
    with each row on the same speech, and the row reports it under ``compared_with``.
    """
    from ..bench.timing import BenchCase, bench_speech, format_table, run_benches
    from ..bundle import load_for_latency

    if args.loopback:
        return _loopback(args)
    bundle, profile = load_for_latency(args.model, args.latency)
    blocks = _check_bench_arguments(args, profile.block)
    speech = bench_speech(args.seconds, args.rate, args.input)
    rows = []
    for block in blocks:
        cases = [(bundle, BenchCase(block=block, rate=args.rate, profile=profile,
                                    denoise=args.denoise))]
        if args.latency is not None:
            other = next(p for name, p in PROFILES.items() if name != profile.name)
            cases.append((load_for_latency(None, other.name)[0],
                          BenchCase(block=other.block, rate=args.rate, profile=other,
                                    denoise=args.denoise)))
        results = run_benches(cases, speech)
        print(format_table(results))
        row = results[0]
        if len(results) > 1:
            row["compared_with"] = results[1]
            row["rtf_ratio"] = round(row["rtf"] / results[1]["rtf"], 3)
        rows.append(row)
    _write_json(args.json, rows[0] if len(rows) == 1 else {"runs": rows})
    return 0


def _check_bench_arguments(args: argparse.Namespace, default_block: int) -> list[int]:
    """Refuse what would fail after the benchmark ran (or run nothing) before it runs; returns
    the block sizes (``default_block``, the profile's, when none were given)."""
    from ..files import check_output

    if args.json is not None:
        check_output(args.json)
    if (args.reference or args.runs != 1 or args.fixed_headroom) and not args.loopback:
        raise ConfigError("--reference, --runs and --fixed-headroom go with --loopback (the "
                          "live stream on the JACK server)")
    if args.input is not None and not args.input.is_file():
        raise ConfigError(f"--input {args.input}: no such file")
    blocks = args.block or [default_block]
    if args.seconds * args.rate < max(blocks):
        raise ConfigError(f"--seconds {args.seconds} is shorter than one block of {max(blocks)} "
                          f"samples at {args.rate} Hz")
    return blocks


def _write_json(path: Path | None, result: dict) -> None:
    from ..files import write_text

    if path is not None:
        write_text(path, json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


def _info(args: argparse.Namespace) -> int:
    """What a model bundle converts to, and on what terms."""
    from ..bundle import load_bundle

    bundle = load_bundle(args.model)
    features = bundle.features
    print(f"model      {bundle.metadata.get('name', '?')} ({bundle.path})")
    print(f"emotions   {', '.join(choices(bundle.emotions))}")
    scale = ", ".join(f"{v:g} {k}" for k, v in bundle.intensity_scale.items())
    print(f"intensity  0 none; {scale}")
    ahead = bundle.lookahead_frames
    print(f"features   {features.sample_rate} Hz, {features.frame_period_ms:g} ms frames, "
          f"lookahead {ahead} frame{'' if ahead == 1 else 's'}, trained for the "
          f"{bundle.latency_profile} latency profile")
    print(f"licence    {bundle.licence}")
    return 0


def _devices(args: argparse.Namespace) -> int:
    """List host APIs and devices."""
    from ..live.devices import list_devices

    print(list_devices())
    return 0


def _run(args: argparse.Namespace) -> int:
    """Headless live conversion (:func:`.cli_live.run`)."""
    from .live_commands import run

    return run(args)


def _loopback(args: argparse.Namespace) -> int:
    """End-to-end latency through a running JACK server (:func:`.cli_live.loopback`)."""
    from ..bundle import load_for_latency
    from .live_commands import loopback

    bundle, profile = load_for_latency(args.model, args.latency)
    blocks = _check_bench_arguments(args, profile.block)
    _write_json(args.json, loopback(bundle, profile, blocks[0], args.seconds,
                                    args.runs if args.reference else 0, args.fixed_headroom,
                                    args.denoise))
    return 0


#: The commands and their one-line help; each one's arguments are added by ``_ARGUMENTS``.
COMMANDS = {
    "convert": "convert an audio file to an emotion",
    "bench": "time the streaming engine",
    "info": "a model's emotions, rate and licence",
    "devices": "list host APIs and audio devices",
    "run": "convert the microphone live (headless)",
    "gui": "the desktop app",
    "ctl": "send a command to a running converter (see `rtconvert ctl --help`)",
}


def build_parser(command: str | None = "") -> argparse.ArgumentParser:
    """The ``rtconvert`` parser, with every command's arguments or only ``command``'s.

    ``command`` None lists the commands without their arguments (what ``--help`` shows);
    the default, "", builds them all.
    """
    parser = ArgumentParser(prog="rtconvert", description=__doc__.split("\n")[0])
    parser.add_argument(DEBUG_FLAG, action="store_true",
                        help="show the traceback of an error (any command, anywhere on the line)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in COMMANDS.items():
        subparser = commands.add_parser(name, help=help_text)
        if command == "" or command == name:
            _ARGUMENTS[name](subparser)
    return parser


def _convert_arguments(convert: argparse.ArgumentParser) -> None:
    from ..offline.fileconvert import FILE_BLOCK, FileGate

    convert.add_argument("input", type=Path)
    convert.add_argument("output", type=Path)
    convert.add_argument("--emotion", required=True,
                         help="an emotion (`rtconvert info` lists them) or a mixture of them, "
                              "e.g. happy=0.6,surprised=0.4 (weights are relative)")
    convert.add_argument("--intensity", type=float, default=0.5,
                         help="0 none, 0.5 normal, 1 strong (default 0.5)")
    add_model_arguments(convert)
    convert.add_argument("--gate", type=file_gate, default=FileGate().below_speech_db,
                         help="silence gate in dB relative to the file's speech level, or off "
                              "(default %(default)s)")
    convert.add_argument("--block", type=positive_int, default=FILE_BLOCK,
                         help="samples read, converted and written at a time (default "
                              "%(default)s); the output does not depend on it")
    convert.set_defaults(run=_convert)


def _bench_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("--seconds", type=positive_seconds, default=30.0)
    bench.add_argument("--block", type=block_list,
                       help="block size, or several separated by commas (a sweep); default: "
                            "the latency profile's")
    bench.add_argument("--rate", type=device_rate, default=48000, help="device rate in Hz")
    bench.add_argument("--input", type=Path, help="speech to use (default: espeak-ng)")
    add_model_arguments(bench)
    bench.add_argument("--json", type=Path, help="write the results here")
    bench.add_argument("--loopback", action="store_true",
                       help="measure end to end through a running JACK server instead")
    bench.add_argument("--reference", action="store_true",
                       help="with --loopback: the same clicks through JACK's own pass-through "
                            "(jack_thru) first, for the host's latency and dropouts alone")
    bench.add_argument("--runs", type=positive_int, default=1,
                       help="with --reference: rounds of pass-through then rtconvert")
    add_headroom_argument(bench)
    bench.set_defaults(run=_bench)


def _info_arguments(info: argparse.ArgumentParser) -> None:
    info.add_argument("--model", type=Path, help="model bundle folder (default: shipped)")
    info.set_defaults(run=_info)


def _run_arguments(run: argparse.ArgumentParser) -> None:
    from .live_commands import run_arguments

    run_arguments(run)
    run.set_defaults(run=_run)


def _gui_arguments(gui: argparse.ArgumentParser) -> None:
    from .live_commands import gui_arguments

    gui_arguments(gui)


def _ctl_arguments(control: argparse.ArgumentParser) -> None:
    from ..control import ctl  # run by rtconvert.cli.launcher; here for `rtconvert ctl --help`

    ctl.add_arguments(control)
    control.set_defaults(run=ctl.run)


def main(argv: list[str] | None = None) -> int:
    """The ``rtconvert`` command; errors become one line (:func:`.entry.run_command`)."""
    return run_command("rtconvert", _main, argv)


def _main(argv: list[str]) -> int:
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    return args.run(args)


_ARGUMENTS = {"convert": _convert_arguments, "bench": _bench_arguments, "info": _info_arguments,
              "devices": lambda devices: devices.set_defaults(run=_devices),
              "run": _run_arguments, "gui": _gui_arguments, "ctl": _ctl_arguments}


if __name__ == "__main__":
    sys.exit(main())
