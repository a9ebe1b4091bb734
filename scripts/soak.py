"""Soak: minutes of looped speech through ``Engine`` alone, then through the live stream on JACK.

    python scripts/soak.py --minutes 10 --json soak.json

Reports, per part: resident memory growth after the first segment (the warm-up), the
latency measured in every segment against the one reported, step times (p99) of the
first and last segments, and dropouts (the stream's underruns and overruns, the JACK
xruns the feeding client saw). Both parts run in bypass with the gate open: the whole
conversion runs (its output is cross-faded away), and the output is the input delayed,
so the latency is measured to the sample in every segment. The live part starts its own
JACK dummy server (or uses ``--server``), and a second process plays the speech into
the stream and records what comes back, as OBS or a DAW would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from rtconvert.bench.loopback import Feeder, delay_of
from rtconvert.bench.timing import bench_speech
from rtconvert.bundle import load_for_latency
from rtconvert.cli.entry import ArgumentParser, run_command
from rtconvert.engine.engine import Engine
from rtconvert.engine.stagetimes import STEP_HISTORY, StageTimes
from rtconvert.errors import ConfigError
from rtconvert.live.jack import start_dummy_server, stop_server
from rtconvert.settings import Settings

#: The soak's controls: conversion running, output the input delayed (see the docstring).
SOAK_SETTINGS = Settings(emotion="happy", intensity=1.0, bypass=True, gate_db=-np.inf)
#: Seconds of each segment correlated to measure its latency.
PROBE_S = 4.0


def rss_mb() -> float:
    """This process's resident memory in MB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class Segments:
    """Per-segment figures: memory, step times since the last segment, dropouts so far."""

    def __init__(self, times: Callable[[], StageTimes]) -> None:
        self._times, self._steps_seen, self.rows = times, 0, []

    def close(self, **extra: Any) -> None:
        """End a segment: record its figures."""
        times = self._times()
        n_steps, ring = times.n_steps, times.step_seconds()
        since = np.arange(max(self._steps_seen, n_steps - STEP_HISTORY), n_steps)
        steps_ms = 1000 * ring[since % STEP_HISTORY] if len(since) else np.zeros(1)
        self._steps_seen = n_steps
        self.rows.append({"rss_mb": round(rss_mb(), 1), "steps": len(since),
                          "step_ms_p99": round(float(np.percentile(steps_ms, 99)), 3),
                          "step_ms_max": round(float(steps_ms.max()), 3), **extra})


def segment_delays_ms(played: np.ndarray, recorded: np.ndarray, rate: int, segment: int
                      ) -> list[float]:
    """The delay of ``recorded`` behind ``played`` in the middle of every whole segment."""
    probe, delays = int(PROBE_S * rate), []
    for start in range(0, len(played) - segment + 1, segment):
        middle = start + max(0, (segment - probe) // 2)
        chunk = played[middle:middle + probe]
        back = recorded[middle:middle + probe + rate // 2]
        delays.append(round(1000 * delay_of(chunk, back, rate // 2) / rate, 3))
    return delays


def summary(rows: list[dict[str, Any]], delays_ms: list[float], reported_ms: float
            ) -> dict[str, Any]:
    """The figures that matter, from the per-segment ones.

    The live headroom follows the load, and the latency with it; ``latency_drift_ms`` is
    how far the measured latency moved apart from the reported one (0: every change was
    accounted for).
    """
    unexplained = [delay - row["latency_ms_reported"] for row, delay in zip(rows, delays_ms)]
    return {"segments": len(rows),
            "rss_mb_after_warm_up": rows[0]["rss_mb"], "rss_mb_end": rows[-1]["rss_mb"],
            "rss_growth_mb": round(rows[-1]["rss_mb"] - rows[0]["rss_mb"], 1),
            "latency_ms_reported": round(reported_ms, 3),
            "latency_ms_measured": [min(delays_ms), max(delays_ms)],
            "latency_drift_ms": round(max(unexplained) - min(unexplained), 3),
            "step_ms_p99_first": rows[0]["step_ms_p99"],
            "step_ms_p99_last": rows[-1]["step_ms_p99"],
            "per_segment": [{**row, "latency_ms": delay} for row, delay in zip(rows, delays_ms)]}


def soak_engine(engine: Engine, speech: np.ndarray, block: int, segment: int) -> dict[str, Any]:
    """Stream ``speech`` through ``engine`` block by block, as fast as one thread can."""
    engine.warm_up()
    # Written through before the warm-up segment ends, so that its pages count from the start.
    segments, out = Segments(lambda: engine.times), np.full(len(speech), np.nan)
    began = time.perf_counter()
    for start in range(0, len(speech) - block + 1, block):
        out[start:start + block] = engine.process(speech[start:start + block])
        if (start + block) % segment < block:
            segments.close(missing_samples=engine.missing_samples,
                           latency_ms_reported=round(1000 * engine.delay_s, 3))
    seconds = time.perf_counter() - began
    delays = segment_delays_ms(speech, out, engine.device_rate, segment)
    return {"rtf": round(seconds * engine.device_rate / len(speech), 4),
            "missing_samples": engine.missing_samples,
            **summary(segments.rows, delays, 1000 * engine.delay_s)}


def soak_live(bundle: Any, played: Path, config: Any, segment_s: float) -> dict[str, Any]:
    """Play ``played`` through a live stream on JACK from another process; figures per segment."""
    from rtconvert.live.stream import LiveStream

    live = LiveStream(bundle, config, SOAK_SETTINGS)
    n_segments = int(soundfile.info(played).duration // segment_s)
    recorded = played.with_name("back.wav")
    feeder = Feeder(played, recorded)  # its start-up before the stream's
    try:
        live.start()
        feeder.connect(*live.jack_ports())
        segments = Segments(lambda: live.engine.times)

        def dropouts() -> dict[str, Any]:
            return {"underruns": live.underruns - before[0],
                    "overruns": live.status.input_overflows - before[1],
                    "late_blocks": live.status.late_blocks - before[2],
                    "headroom_ms": round(1000 * live.headroom_s, 2)}

        before = live.underruns, live.status.input_overflows, live.status.late_blocks
        feeder.start()
        began, reported_ms = time.monotonic(), 1000 * live.latency_s
        while not feeder.wait_played(0.25):
            elapsed, done = time.monotonic() - began, len(segments.rows)
            if elapsed < segment_s * (done + 0.5):
                reported_ms = 1000 * live.latency_s  # as the middle of the segment plays
            elif elapsed >= segment_s * (done + 1):
                segments.close(latency_ms_reported=round(reported_ms, 3), **dropouts())
        if len(segments.rows) < n_segments:  # the last one ended with the playback
            segments.close(latency_ms_reported=round(reported_ms, 3), **dropouts())
        final = dropouts()
        report = feeder.finish()
    finally:
        feeder.close()
        live.stop()
    signal = soundfile.read(played, dtype="float64")[0]
    back = soundfile.read(recorded, dtype="float64")[0]
    delays = segment_delays_ms(signal, back, live.rate, round(segment_s * live.rate))
    rows = segments.rows[:len(delays)]
    final["headroom_ms_range"] = [min(r["headroom_ms"] for r in rows),
                                  max(r["headroom_ms"] for r in rows)]
    return {**final, "jack_xruns": report["xruns"], "jack_period": report["period"],
            "block": live.config.block, **summary(rows, delays, 1000 * live.latency_s)}


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="scripts/soak.py", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="per part (default 10)")
    parser.add_argument("--segment", type=float, default=60.0,
                        help="seconds per segment; the first is the warm-up (default 60)")
    parser.add_argument("--latency", choices=["balanced", "low"], help="latency profile")
    parser.add_argument("--model", type=Path, help="bundle (default: the profile's shipped one)")
    parser.add_argument("--part", choices=["both", "engine", "live"], default="both")
    parser.add_argument("--server", help="a running JACK server's name (default: start a "
                                         "dummy server at 48 kHz, one period per block)")
    parser.add_argument("--no-realtime", action="store_true",
                        help="start the dummy server without real-time scheduling (jackd -r)")
    parser.add_argument("--block", type=int, help="samples per block (default: the profile's)")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    seconds, rate = 60 * args.minutes, 48000
    if not 2 * args.segment <= seconds:
        raise ConfigError(f"--minutes {args.minutes:g} holds fewer than two --segment "
                          f"{args.segment:g} s segments")
    bundle, profile = load_for_latency(args.model, args.latency)
    block, segment = args.block or profile.block, round(args.segment * rate)
    speech = bench_speech(seconds, rate)
    report: dict[str, Any] = {"minutes": args.minutes, "profile": profile.name,
                              "load_average": list(os.getloadavg())}
    if args.part in ("both", "engine"):
        engine = Engine(bundle, rate, SOAK_SETTINGS, profile=profile)
        report["engine"] = soak_engine(engine, speech, block, segment)
        del engine
        print(json.dumps({"engine": _brief(report["engine"])}), flush=True)
    if args.part in ("both", "live"):
        report["live"] = _live(args, bundle, profile, speech, block)
        print(json.dumps({"live": _brief(report["live"])}), flush=True)
    report["load_average_end"] = list(os.getloadavg())
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _live(args: argparse.Namespace, bundle: Any, profile: Any, speech: np.ndarray,
          block: int) -> dict[str, Any]:
    """The live part, on ``--server`` or a dummy server of its own."""
    from rtconvert.live.devices import refresh_devices
    from rtconvert.live.stream import LiveConfig

    server, log = None, None
    if args.server is None:
        args.server = f"rtconvert-soak-{os.getpid()}"
        log = Path(tempfile.gettempdir()) / f"{args.server}.log"
        server = start_dummy_server(args.server, period=block, log=log,
                                    realtime=not args.no_realtime)
    os.environ["JACK_DEFAULT_SERVER"], os.environ["JACK_NO_START_SERVER"] = args.server, "1"
    try:
        refresh_devices()  # PortAudio lists JACK's devices only if the server runs when it scans
        with tempfile.TemporaryDirectory() as folder:
            played = Path(folder) / "speech.wav"
            soundfile.write(played, speech, 48000, subtype="FLOAT")
            config = LiveConfig(host_api="JACK", block=block, latency=profile.name)
            result = soak_live(bundle, played, config, args.segment)
    finally:
        if server is not None:
            import sounddevice as sd

            sd._terminate()  # PortAudio lets go of the server while it still answers
            stop_server(server)
    if log is not None:
        result["jackd_late_clients"] = late_clients(log.read_text())
        log.unlink()
    return result


def late_clients(log: str) -> dict[str, int]:
    """How often jackd named each client late, and in which state: "Triggered" (woken, never
    ran), "Running" (ran, did not finish in time)."""
    late: dict[str, int] = {}
    for line in log.splitlines():
        if "was not finished" in line:
            name, state = line.split("client = ", 1)[1].split(" was not finished, state = ")
            key = f"{name} {state.strip()}"
            late[key] = late.get(key, 0) + 1
    return late


def _brief(part: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in part.items() if key != "per_segment"}


if __name__ == "__main__":
    sys.exit(run_command("scripts/soak.py", main))
