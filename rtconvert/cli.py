"""The ``rtconvert`` command: parses arguments, calls the library, turns errors into one line."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from .audiofile import output_format
from .bench import BenchCase, bench_speech, format_table, run_bench
from .bundle import load_bundle
from .control import DEFAULT_PORT, Controller, ControlOptions, ControlServers, ctl
from .control.server import DEFAULT_HOST
from .controls import DEFAULT_EMOTION, NEUTRAL, Settings, default_emotion
from .entry import DEBUG_FLAG, ArgumentParser, run_command
from .errors import ConfigError, RtconvertError
from .fileconvert import FILE_BLOCK, FileGate, convert_file
from .files import check_output, write_text
from .devices import describe_device, list_devices
from .live import LiveConfig, LiveStream
from .loopback import measure_loopback
from .presets import PresetStore
from .resample import RATE_RANGE_HZ


def _convert(args: argparse.Namespace) -> int:
    """Convert a file through the streaming engine at the file's own rate, disk to disk."""
    output_format(args.output)  # the folder and the format, before any work
    bundle = load_bundle(args.model)
    settings = Settings(emotion=args.emotion, intensity=args.intensity).validate(bundle.emotions)
    report = convert_file(bundle, args.input, args.output, settings, FileGate(args.gate),
                          args.block)
    if report.n_channels > 1:
        print(f"{args.input}: {report.n_channels} channels, downmixed to mono")
    print(f"wrote {args.output}: {settings.emotion} at intensity {settings.intensity}, "
          f"{report.n_samples / report.sample_rate:.2f} s at {report.sample_rate} Hz")
    print(report.describe())
    return 0


def _bench(args: argparse.Namespace) -> int:
    """Time the engine on speech, one row per block size."""
    _check_bench_arguments(args)
    bundle = load_bundle(args.model)
    speech = bench_speech(args.seconds, args.rate, args.input)
    rows = [run_bench(bundle, speech, BenchCase(block=block, rate=args.rate))
            for block in args.block]
    print(format_table(rows))
    _write_json(args.json, rows[0] if len(rows) == 1 else {"runs": rows})
    return 0


def _check_bench_arguments(args: argparse.Namespace) -> None:
    """Refuse what would fail after the benchmark ran (or run nothing) before it runs."""
    if args.json is not None:
        check_output(args.json)
    if args.input is not None and not args.input.is_file():
        raise ConfigError(f"--input {args.input}: no such file")
    longest = max(args.block)
    if args.seconds * args.rate < longest:
        raise ConfigError(f"--seconds {args.seconds} is shorter than one block of {longest} "
                          f"samples at {args.rate} Hz")


def _write_json(path: Path | None, result: dict) -> None:
    if path is not None:
        write_text(path, json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


def _info(args: argparse.Namespace) -> int:
    """What a model bundle converts to, and on what terms."""
    bundle = load_bundle(args.model)
    features = bundle.features
    print(f"model      {bundle.metadata.get('name', '?')} ({bundle.path})")
    print(f"emotions   {', '.join((NEUTRAL,) + bundle.emotions)}")
    print(f"intensity  0 none; {', '.join(f'{v:g} {k}' for k, v in bundle.intensity_scale.items())}")
    print(f"features   {features.sample_rate} Hz, {features.frame_period_ms:g} ms frames, "
          f"lookahead {bundle.lookahead_frames} frames")
    print(f"licence    {bundle.licence}")
    return 0


def _devices(args: argparse.Namespace) -> int:
    """List host APIs and devices."""
    print(list_devices())
    return 0


def _live_config(args: argparse.Namespace) -> LiveConfig:
    return LiveConfig(input_device=args.input, output_device=args.output,
                      monitor_device=args.monitor, host_api=args.host_api, block=args.block,
                      rate=args.rate)


def _run(args: argparse.Namespace) -> int:
    """Headless live conversion with a one-line status until Ctrl-C or --seconds."""
    bundle = load_bundle(args.model)
    emotion = args.emotion or default_emotion(bundle.emotions)
    settings = Settings(emotion=emotion, intensity=args.intensity,
                        gate_db=args.gate).validate(bundle.emotions)
    presets = PresetStore()
    controller = Controller(bundle.emotions, settings, presets)
    live = LiveStream(bundle, _live_config(args), settings)
    live.start()
    print(_describe_run(live, settings))
    controller.attach(live)
    remote: list = []
    started = time.monotonic()
    try:
        remote = _start_remote_control(controller, args, presets)  # a bad option stops the stream
        while args.seconds is None or time.monotonic() - started < args.seconds:
            time.sleep(0.25)
            print("\r" + live.status_line(), end="", flush=True)
            if live.status.error:
                raise RtconvertError(live.status.error)
    except KeyboardInterrupt:
        pass
    finally:
        for part in remote:
            part.close()
        live.stop()
        print()
    return 0


def _describe_run(live: LiveStream, settings: Settings) -> str:
    """One line: the devices, rate and block, the model, the emotion and the latency."""
    monitor = (f", monitor {describe_device(live.monitor_device, 'output')}"
               if live.monitor_device is not None else "")
    bundle = live.bundle
    return (f"converting {describe_device(live.input_device, 'input')} -> "
            f"{describe_device(live.output_device, 'output')}{monitor} at {live.rate} Hz in "
            f"blocks of {live.config.block}; model {bundle.metadata.get('name', '?')} "
            f"({bundle.path}); {settings.emotion} at intensity {settings.intensity:g}; "
            f"latency {1000 * live.latency_s:.1f} ms; Ctrl-C stops")


def _start_remote_control(controller: Controller, args: argparse.Namespace,
                          presets: PresetStore) -> list:
    """The control servers and the MIDI input ``run`` was asked for; each has ``close``."""
    parts: list = []
    options = ControlOptions(args.control_host, args.control_port, args.control_token,
                             not args.no_control)
    if options.enabled:
        try:
            servers = ControlServers(controller, options)
        except RtconvertError as exc:  # e.g. the port is taken: convert all the same
            print(f"rtconvert: warning: no remote control: {exc}", file=sys.stderr)
        else:
            parts.append(servers)
            print(servers.describe())
    if args.midi:
        from .control.midi import MidiControl, MidiMapping, open_midi_input
        midi = MidiControl(controller, MidiMapping.from_json(presets.midi))
        try:
            parts.append(open_midi_input(args.midi, midi.receive))
        except RtconvertError:
            for part in parts:
                part.close()
            raise
        print(f"MIDI: listening on {parts[-1].port_name}")
    return parts


def _loopback(args: argparse.Namespace) -> int:
    """End-to-end latency through a running JACK server."""
    _check_bench_arguments(args)
    bundle = load_bundle(args.model)
    result = measure_loopback(bundle, LiveConfig(host_api="JACK", block=args.block[0]),
                              args.seconds)
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    _write_json(args.json, result)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _rate(text: str) -> int:
    rate = int(text)
    low, high = RATE_RANGE_HZ
    if not low <= rate <= high:
        raise argparse.ArgumentTypeError(f"{rate} Hz is outside the {low}..{high} Hz that "
                                         "rtconvert can resample")
    return rate


def _file_gate(text: str) -> float | None:
    if text.strip().lower() == "off":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number of dB nor 'off'") from None


def _block_list(text: str) -> list[int]:
    return [_positive_int(part) for part in text.split(",")]


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="rtconvert", description=__doc__)
    parser.add_argument(DEBUG_FLAG, action="store_true",
                        help="show the traceback of an error (any command, anywhere on the line)")
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="convert an audio file to an emotion")
    convert.add_argument("input", type=Path)
    convert.add_argument("output", type=Path)
    convert.add_argument("--emotion", required=True,
                         help=f"one of the model's emotions (`rtconvert info` lists them) or {NEUTRAL}")
    convert.add_argument("--intensity", type=float, default=0.5,
                         help="0 none, 0.5 normal, 1 strong (default 0.5)")
    convert.add_argument("--model", type=Path, help="model bundle folder (default: shipped)")
    convert.add_argument("--gate", type=_file_gate, default=FileGate().below_speech_db,
                         help="silence gate in dB relative to the file's speech level, or off "
                              "(default %(default)s)")
    convert.add_argument("--block", type=_positive_int, default=FILE_BLOCK,
                         help="samples read, converted and written at a time (default "
                              "%(default)s); the output does not depend on it")
    convert.set_defaults(run=_convert)

    bench = commands.add_parser("bench", help="time the streaming engine")
    bench.add_argument("--seconds", type=_positive_seconds, default=30.0)
    bench.add_argument("--block", type=_block_list, default=[256],
                       help="block size, or several separated by commas (a sweep)")
    bench.add_argument("--rate", type=_rate, default=48000, help="device rate in Hz")
    bench.add_argument("--input", type=Path, help="speech to use (default: espeak-ng)")
    bench.add_argument("--model", type=Path)
    bench.add_argument("--json", type=Path, help="write the results here")
    bench.add_argument("--loopback", action="store_true",
                       help="measure end to end through a running JACK server instead")
    bench.set_defaults(run=lambda a: _loopback(a) if a.loopback else _bench(a))

    info = commands.add_parser("info", help="a model's emotions, rate and licence")
    info.add_argument("--model", type=Path, help="model bundle folder (default: shipped)")
    info.set_defaults(run=_info)

    devices = commands.add_parser("devices", help="list host APIs and audio devices")
    devices.set_defaults(run=_devices)

    run = commands.add_parser("run", help="convert the microphone live (headless)")
    run.add_argument("--emotion", help=f"default: {DEFAULT_EMOTION} (the model's first emotion "
                                       "if it has no such emotion), as in the app")
    run.add_argument("--intensity", type=float, default=0.5)
    run.add_argument("--gate", type=float, default=Settings.gate_db,
                     help="silence gate threshold in dBFS (default %(default)s)")
    _add_device_arguments(run)
    run.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    run.add_argument("--model", type=Path)
    run.add_argument("--midi", help="MIDI input: 'jack' (a JACK MIDI port) or part of its name")
    _add_control_arguments(run)
    run.set_defaults(run=_run)

    gui = commands.add_parser("gui", help="the desktop app")
    gui.add_argument("--model", type=Path)
    _add_control_arguments(gui)
    gui.set_defaults(run=_gui)

    control = commands.add_parser("ctl", help=ctl.HELP)  # run by rtconvert.launcher
    ctl.add_arguments(control)
    control.set_defaults(run=ctl.run)
    return parser


def _add_control_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--control-port", type=int, default=DEFAULT_PORT,
                        help="OSC (UDP) and WebSocket (TCP) port (default %(default)s)")
    parser.add_argument("--control-host", default=DEFAULT_HOST,
                        help="address to listen on; any other than this machine needs a token")
    parser.add_argument("--control-token", help="a secret every control message must carry")
    parser.add_argument("--no-control", action="store_true", help="run no control server")


def _add_device_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", help="input device (index or part of its name)")
    parser.add_argument("--output", help="output device")
    parser.add_argument("--monitor", help="second output carrying the same converted voice")
    parser.add_argument("--host-api", help="e.g. JACK, ALSA, WASAPI, Core Audio")
    parser.add_argument("--block", type=_positive_int, default=LiveConfig.block)
    parser.add_argument("--rate", type=_rate, help="device rate (default: the device's)")


def _gui(args: argparse.Namespace) -> int:
    from .gui import run_app  # Qt only when asked for
    return run_app(args.model, ControlOptions(args.control_host, args.control_port,
                                              args.control_token, not args.no_control))


def main(argv: list[str] | None = None) -> int:
    """The ``rtconvert`` command; errors become one line (:func:`.entry.run_command`)."""
    return run_command("rtconvert", _main, argv)


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
