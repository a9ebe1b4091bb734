"""End-to-end latency through JACK: play into the converter's input port, record its output.

A JACK client of our own, in a process of its own (:mod:`.feeder`), plays into the
ports PortAudio opened for the live stream and records what comes back. What it plays
in cycle ``n`` and hears back in cycle ``m`` gives the whole chain's delay in samples:
the engine's, the device block's, and the server's own buffering. The same clicks through
JACK's own C pass-through (``jack_thru``, :func:`measure_reference`) give the host's floor:
its latency and the dropouts this machine has with no Python and no conversion in the way.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import soundfile

from ..errors import AudioDeviceError
from ..live.jack import open_client
from ..settings import Settings
from .feeder import Feeder, JackLoopback

__all__ = ["Feeder", "JackLoopback", "click_train", "delay_of", "measure_loopback",
           "measure_reference", "compare_with_reference"]

#: JACK's example pass-through client (Debian's jackd2): one period in, the same out, in C.
REFERENCE_CLIENT = "jack_thru"

if TYPE_CHECKING:
    from ..bundle import Bundle
    from ..live.stream import LiveConfig

FloatArray = npt.NDArray[np.float64]

#: Seconds of clicks at the end of a measurement that time the latency.
LAST_CLICKS_S = 5


def click_train(rate: int, seconds: float, every_s: float = 0.25) -> FloatArray:
    """Short band-limited clicks (a 1 ms Hann-windowed chirp) every ``every_s`` seconds."""
    signal = np.zeros(int(seconds * rate))
    length = rate // 1000
    t = np.arange(length) / rate
    click = 0.5 * np.hanning(length) * np.sin(2 * np.pi * (2000 + 4e6 * t) * t)
    for start in range(rate // 10, len(signal) - length, int(every_s * rate)):
        signal[start:start + length] = click
    return signal


def delay_of(played: FloatArray, recorded: FloatArray, max_delay: int) -> int:
    """Lag in samples at which ``recorded`` best matches ``played`` (FFT cross-correlation)."""
    n = len(played) + len(recorded)
    size = 1 << int(np.ceil(np.log2(n)))
    correlation = np.fft.irfft(np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(played, size)),
                               size)
    return int(np.argmax(np.abs(correlation[:max_delay])))


def _click_delay_s(rate: int, seconds: float,
                   play: Callable[[Feeder], dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    """Clicks played and recorded by a feeder process: ``play`` connects it and runs it (its
    figures come back with it), then the clicks' delay in seconds over the last of them,
    after a headroom that follows the load has settled."""
    with tempfile.TemporaryDirectory() as folder:
        played_path, recorded_path = Path(folder) / "clicks.wav", Path(folder) / "back.wav"
        clicks = click_train(rate, seconds)
        soundfile.write(played_path, clicks, rate, subtype="FLOAT")
        feeder = Feeder(played_path, recorded_path)
        try:
            figures = play(feeder)
            recorded, _ = soundfile.read(recorded_path, dtype="float64")
        finally:
            feeder.close()
    last = len(clicks) - min(len(clicks), LAST_CLICKS_S * rate)
    return delay_of(clicks[last:], recorded[last:], rate // 2) / rate, figures


def measure_loopback(bundle: Bundle, config: LiveConfig, seconds: float) -> dict[str, Any]:
    """Open the live stream on JACK, play clicks through it from another client, time them back.

    The clicks are played and recorded by ``python -m rtconvert.bench.feeder`` in its own
    process, as OBS or a DAW would be. The stream runs in bypass, so the clicks come
    back as they went in and correlate exactly; bypass runs the whole conversion all
    the same (its output is cross-faded away), so load and timing are the converting
    ones, and its delay equals the converted path's by construction (tests/test_engine.py).
    The measurement keeps out of the way of what it measures: the clicks and the feeder
    process are ready before the stream starts, and dropouts are counted over exactly
    the playback.
    """
    from ..live.stream import LiveStream

    live = LiveStream(bundle, config, Settings(emotion="angry", intensity=1.0, bypass=True,
                                               gate_db=-np.inf))

    def play(feeder: Feeder) -> dict[str, Any]:
        try:
            live.start()
            feeder.connect(*live.jack_ports())
            figures: dict[str, Any] = {"headroom_start_s": live.headroom_s}
            before = live.underruns, live.status.late_blocks, live.status.held_up
            feeder.start()
            feeder.wait_played()
            figures.update(underruns=live.underruns - before[0],
                           late_blocks=live.status.late_blocks - before[1],
                           held_up=live.status.held_up - before[2],
                           latency_s=live.latency_s, headroom_s=live.headroom_s,
                           report=feeder.finish())
            return figures
        finally:
            live.stop()

    delay_s, figures = _click_delay_s(live.rate, seconds, play)
    algorithmic = live.engine.algorithmic_latency_s(config.block)
    portaudio_in, portaudio_out = live.server_latency_s
    report = figures["report"]
    return {
        "end_to_end_latency_ms": round(1000 * delay_s, 3),
        "algorithmic_latency_ms": round(1000 * algorithmic, 3),
        "headroom_ms": round(1000 * figures["headroom_s"], 3),
        "headroom_ms_at_start": round(1000 * figures["headroom_start_s"], 3),
        "headroom_fixed": config.fixed_headroom_s is not None,
        "server_buffering_ms": round(1000 * (delay_s - figures["latency_s"]), 3),
        "portaudio_reported_latency_ms": [round(1000 * portaudio_in, 3),
                                          round(1000 * portaudio_out, 3)],
        "jack_rate": report["rate"],
        "jack_period": report["period"],
        "block": config.block,
        "seconds": seconds,
        "underruns": figures["underruns"],
        "late_blocks": figures["late_blocks"],
        "conversions_held_up": figures["held_up"],
        "jack_xruns": report["xruns"],
        # PortAudio reports each JACK xrun as a device underflow: counted once, as an xrun.
        "dropouts": report["xruns"] + figures["late_blocks"],
    }


def measure_reference(seconds: float) -> dict[str, Any]:
    """The same clicks through ``jack_thru``: the end-to-end latency and xruns of the host alone
    (a C client in JACK's own cycle has no blocks of its own to be late with: underruns 0).

    Raises
    ------
    AudioDeviceError
        If ``jack_thru`` is not installed or does not register its ports.
    """
    if shutil.which(REFERENCE_CLIENT) is None:
        raise AudioDeviceError(f"{REFERENCE_CLIENT} is not installed (JACK's example clients: "
                               "apt-get install jackd2)")
    probe = open_client("rtconvert-reference")
    rate = probe.samplerate
    thru = subprocess.Popen([REFERENCE_CLIENT], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not probe.get_ports(f"{REFERENCE_CLIENT}:output_1"):
            if thru.poll() is not None or time.monotonic() > deadline:
                raise AudioDeviceError(f"{REFERENCE_CLIENT} did not register its ports")
            time.sleep(0.01)

        def play(feeder: Feeder) -> dict[str, Any]:
            feeder.connect(f"{REFERENCE_CLIENT}:input_1", f"{REFERENCE_CLIENT}:output_1")
            return feeder.play()

        delay_s, report = _click_delay_s(rate, seconds, play)
    finally:
        thru.terminate()
        thru.wait(timeout=10)
        probe.close()
    return {"end_to_end_latency_ms": round(1000 * delay_s, 3), "underruns": 0,
            "jack_xruns": report["xruns"], "dropouts": report["xruns"],
            "jack_rate": report["rate"],
            "jack_period": report["period"], "seconds": seconds}


def compare_with_reference(bundle: Bundle, config: LiveConfig, seconds: float, runs: int = 1
                           ) -> dict[str, Any]:
    """``runs`` rounds of the pass-through then rtconvert, the same clicks and length each:
    both results of each round and their differences (rtconvert's share beyond the host's).
    """
    rounds = []
    for _ in range(runs):
        reference = measure_reference(seconds)
        ours = measure_loopback(bundle, config, seconds)
        rounds.append({"reference": reference, "rtconvert": ours, "difference": {
            key: round(ours[key] - reference[key], 3)
            for key in ("end_to_end_latency_ms", "underruns", "jack_xruns", "dropouts")}})
    return rounds[0] if runs == 1 else {"runs": rounds}
