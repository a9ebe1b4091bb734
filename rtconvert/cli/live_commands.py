"""``rtconvert run`` and ``rtconvert bench --loopback``: the commands that open audio devices.

:mod:`.cli` imports this module only when one of them runs: it brings the converter,
PortAudio and the control servers with it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from ..bundle import Bundle, load_for_latency
from ..control import Controller, ControlOptions, ControlServers
from ..control.server import DEFAULT_HOST, DEFAULT_PORT
from ..errors import RtconvertError
from ..live.devices import describe_device
from ..live.stream import LiveConfig, LiveStream
from ..live.virtualmic import sound_server
from ..presets import PresetStore
from ..profiles import LatencyProfile
from ..settings import DEFAULT_EMOTION, Settings, default_emotion
from .arguments import add_headroom_argument, add_model_arguments, device_rate, positive_int


def run_arguments(run: argparse.ArgumentParser) -> None:
    """``rtconvert run``'s arguments."""
    run.add_argument("--emotion", help="an emotion or a mixture, e.g. happy=0.6,surprised=0.4 "
                                       f"(default: {DEFAULT_EMOTION}, or the model's first "
                                       "emotion if it has no such emotion, as in the app)")
    run.add_argument("--intensity", type=float, default=0.5)
    run.add_argument("--gate", type=float, default=Settings.gate_db,
                     help="silence gate threshold in dBFS (default %(default)s)")
    run.add_argument("--input", help="input device (index or part of its name)")
    run.add_argument("--output", help="output device")
    run.add_argument("--monitor", help="second output carrying the same converted voice")
    run.add_argument("--virtual-mic", action="store_true",
                     help='also feed a microphone named "rtconvert" that other applications '
                          "list (PipeWire or PulseAudio), removed on exit")
    run.add_argument("--host-api", help="e.g. JACK, ALSA, WASAPI, Core Audio")
    run.add_argument("--block", type=positive_int,
                     help="samples per audio callback (default: the latency profile's)")
    run.add_argument("--rate", type=device_rate, help="device rate (default: the device's)")
    run.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    add_model_arguments(run)
    run.add_argument("--midi", help="MIDI input: 'jack' (a JACK MIDI port) or part of its name")
    add_headroom_argument(run)
    _add_control_arguments(run)


def gui_arguments(gui: argparse.ArgumentParser) -> None:
    """``rtconvert gui``'s arguments."""
    gui.add_argument("--emotion", help="start with this emotion or mixture, e.g. "
                                       "happy=0.6,surprised=0.4 (default: the last session's)")
    add_model_arguments(gui)
    add_headroom_argument(gui)
    _add_control_arguments(gui)
    gui.set_defaults(run=_gui)


def _add_control_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--control-port", type=int, default=DEFAULT_PORT,
                        help="OSC (UDP) and WebSocket (TCP) port (default %(default)s)")
    parser.add_argument("--control-host", default=DEFAULT_HOST,
                        help="address to listen on; any other than this machine needs a token")
    parser.add_argument("--control-token", help="a secret every control message must carry")
    parser.add_argument("--no-control", action="store_true", help="run no control server")


def _gui(args: argparse.Namespace) -> int:
    from ..app.main import run_app  # Qt only when asked for

    return run_app(args.model, ControlOptions(args.control_host, args.control_port,
                                              args.control_token, not args.no_control),
                   args.latency, args.fixed_headroom, args.emotion, args.denoise)


def live_config(args: argparse.Namespace, block: int) -> LiveConfig:
    """The devices, block, rate and latency profile ``run`` was asked for."""
    return LiveConfig(input_device=args.input, output_device=args.output,
                      monitor_device=args.monitor, host_api=args.host_api, block=block,
                      rate=args.rate, latency=args.latency,
                      fixed_headroom_s=args.fixed_headroom, virtual_mic=args.virtual_mic,
                      denoise=args.denoise)


def run(args: argparse.Namespace) -> int:
    """Headless live conversion with a one-line status until Ctrl-C, SIGTERM or --seconds."""
    if args.virtual_mic:
        sound_server()  # before anything opens: one line where there is none
    bundle, profile = load_for_latency(args.model, args.latency)
    emotion = args.emotion or default_emotion(bundle.emotions)
    settings = Settings(emotion=emotion, intensity=args.intensity,
                        gate_db=args.gate).validate(bundle.emotions)
    presets = PresetStore()
    controller = Controller(bundle.emotions, settings, presets)
    args.latency = profile.name
    live = LiveStream(bundle, live_config(args, args.block or profile.block), settings)
    # SIGTERM (a service manager, `kill`) stops like Ctrl-C: the virtual microphone and the
    # recording are closed, not left behind.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    remote: list = []
    try:
        live.start()
        print(describe_run(live, settings))
        if live.virtual_mic is not None:
            print(f"feeding the {live.virtual_mic.describe()}")
        controller.attach(live)
        remote = _start_remote_control(controller, args, presets)  # a bad option stops the stream
        _show_status(live, args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        # Cleaning up is not interrupted by a second Ctrl-C or SIGTERM.
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for part in remote:
            part.close()
        live.stop()
        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, previous)
        print()
    return 0


def _show_status(live: LiveStream, seconds: float | None) -> None:
    """The status line until ``seconds`` passed (None: until interrupted) or the stream failed."""
    started, first_audio_told, status_shown = time.monotonic(), False, False
    while seconds is None or time.monotonic() - started < seconds:
        time.sleep(0.25)
        if not first_audio_told and live.status.first_audio_at is not None:
            first_audio_told = True
            age = _process_age_s(live.status.first_audio_at)
            print(("\n" if status_shown else "")  # below the status line, not on it
                  + f"first converted audio {age:.2f} s after the command started")
        print("\r" + live.status_line(), end="", flush=True)
        status_shown = True
        if live.status.error:
            raise RtconvertError(live.status.error)


def describe_run(live: LiveStream, settings: Settings) -> str:
    """One line: the devices, rate and block, the model, the emotion and the latency."""
    monitor = (f", monitor {describe_device(live.monitor_device, 'output')}"
               if live.monitor_device is not None else "")
    bundle, block = live.bundle, live.config.block
    algorithmic = live.engine.algorithmic_latency_s(block)
    return (f"converting {describe_device(live.input_device, 'input')} -> "
            f"{describe_device(live.output_device, 'output')}{monitor} at {live.rate} Hz in "
            f"blocks of {block}; model {bundle.metadata.get('name', '?')} "
            f"({bundle.path}); {settings.emotion} at intensity {settings.intensity:g}; "
            f"latency profile {live.engine.profile.name}: {1000 * live.latency_s:.1f} ms "
            f"({1000 * algorithmic:.1f} algorithmic + {1000 * (live.latency_s - algorithmic):.1f} "
            "headroom); Ctrl-C stops")


def _process_age_s(at: float) -> float:
    """Seconds from this process's start to ``at`` (a ``time.monotonic()`` reading).

    The start is the kernel's (Linux, 10 ms resolution: the interpreter's own start-up
    included); elsewhere the time this module was imported.
    """
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        age_now = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return age_now - (time.monotonic() - at)
    except (OSError, ValueError, IndexError, AttributeError):
        return at - _IMPORTED


_IMPORTED = time.monotonic()


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
        from ..control.midi import MidiControl, MidiMapping, open_midi_input
        midi = MidiControl(controller, MidiMapping.from_json(presets.midi))
        try:
            parts.append(open_midi_input(args.midi, midi.receive))
        except RtconvertError:
            for part in parts:
                part.close()
            raise
        print(f"MIDI: listening on {parts[-1].port_name}")
    return parts


def loopback(bundle: Bundle, profile: LatencyProfile, block: int, seconds: float,
             reference_runs: int = 0, fixed_headroom_s: float | None = None,
             denoise: bool | None = None) -> dict:
    """End-to-end latency through a running JACK server, after ``reference_runs`` rounds of
    the pass-through first if asked; prints and returns the result."""
    from ..bench.loopback import compare_with_reference, measure_loopback

    config = LiveConfig(host_api="JACK", block=block, latency=profile.name,
                        fixed_headroom_s=fixed_headroom_s, denoise=denoise)
    if not reference_runs:
        result = measure_loopback(bundle, config, seconds)
        for key, value in result.items():
            print(f"{key:>28}: {value}")
        return result
    result = compare_with_reference(bundle, config, seconds, reference_runs)
    for number, round_ in enumerate(result.get("runs", [result]), 1):
        for name in ("reference", "rtconvert", "difference"):
            values = round_[name]
            print(f"run {number} {name:>10}: latency {values['end_to_end_latency_ms']:.2f} ms, "
                  f"underruns {values['underruns']}, JACK xruns {values['jack_xruns']}, "
                  f"dropouts {values['dropouts']}")
    return result
