"""The virtual microphone on a real PipeWire, started headless here: what rtconvert converts is
what an application records from the "rtconvert" source; nothing is left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import scipy.signal
import soundfile
import soxr
from helpers import (
    JACK_RATE,
    needs_jackd,
    needs_pipewire,
    our_modules,
    players,
    sources,
    wait_for,
)

from rtconvert.bench.feeder import Feeder
from rtconvert.bundle import load_bundle
from rtconvert.errors import AudioDeviceError
from rtconvert.live.stream import LiveConfig, LiveStream
from rtconvert.live.virtualmic import SOURCE_NAME, VirtualMic
from rtconvert.settings import Settings

#: The longest stretch a late sound server or parecord spoils inside a piece: two of
#: PipeWire's default 1024-sample quanta.
GLITCH = 2048


@needs_pipewire
@needs_jackd
def test_an_application_records_what_the_engine_converted(pipewire, jack_server, speech,
                                                          feature_config, tmp_path):
    """A live stream on JACK feeds the source; parecord (as Discord would) records it. Each
    quarter second of the engine's output is in the recording, identical (0.1 % error power,
    the same level) at one delay, except where the sound server or parecord was scheduled
    late and played a gap or lost a piece (the host's doing: reported)."""
    model_rate = feature_config.sample_rate
    feed = np.concatenate([speech, np.zeros(model_rate // 2)] * 2)
    played, back = tmp_path / "feed.wav", tmp_path / "back.wav"
    soundfile.write(played, soxr.resample(feed, model_rate, JACK_RATE, "HQ"), JACK_RATE,
                    subtype="FLOAT")
    live = LiveStream(load_bundle(), LiveConfig(host_api="JACK", block=256, virtual_mic=True),
                      Settings(emotion="happy", intensity=1.0))
    recorded = tmp_path / "recorded.raw"
    live.start()
    try:
        assert sources().count(SOURCE_NAME) == 1
        listener = subprocess.Popen(["parecord", f"--device={SOURCE_NAME}", "--raw",
                                     "--format=float32le", f"--rate={live.rate}",
                                     "--channels=1", "--latency-msec=20", str(recorded)])
        assert wait_for(lambda: recorded.exists() and recorded.stat().st_size > 0)
        live.start_recording(tmp_path / "dry.wav", tmp_path / "wet.wav")
        Feeder(played, back, *live.jack_ports()).play()
        live.stop_recording()
        listener.terminate()
        listener.wait()
        dropped, error = live.virtual_mic.dropped, live.virtual_mic.error
    finally:
        live.stop()
    assert error is None
    produced = soundfile.read(tmp_path / "wet.wav")[0]
    heard = np.fromfile(recorded, dtype="<f4").astype(np.float64)
    # Each quarter second of speech the engine produced, found in the recording: where it lies,
    # and how it differs from what was heard there.
    window = live.rate // 4
    found = []  # (lag, the piece, what was heard at that lag)
    for start in range(0, len(produced) - window, window):
        piece = produced[start:start + window]
        if np.sqrt(np.mean(piece ** 2)) < 1e-3:
            continue  # silence matches anywhere
        # parecord ran before the recording began: the piece lies at most a second later
        # (the speech repeats: an unbounded search would find the other repetition).
        near = heard[start:start + window + live.rate]
        correlation = scipy.signal.correlate(near, piece, "valid", method="fft")
        energy = np.concatenate([[0.0], np.cumsum(near ** 2)])
        # Normalised by what was heard at each lag: a louder stretch is not a better match.
        lag = int(np.argmax(correlation / np.sqrt(np.maximum(
            energy[window:] - energy[:-window], 1e-12))))
        found.append((lag, piece, near[lag:lag + window]))
    lags = [lag for lag, _, _ in found]
    # A sound server scheduled late plays a gap and delays what follows, a late parecord
    # loses a piece (the host's doing): the delay steps there. Both within one piece leave
    # its delay as it was, with one short stretch unlike the engine's samples.
    gaps = sum(later != earlier for earlier, later in zip(lags, lags[1:]))
    glitches = 0
    for i, (lag, piece, there) in enumerate(found):
        if len(set(lags[max(i - 1, 0):i + 2])) > 1:
            continue  # a gap nearby: the piece straddles two delays
        outside = np.ones(window, bool)
        error = np.cumsum(np.concatenate([[0.0], (there - piece) ** 2]))
        if error[-1] > 1e-3 * np.sum(piece ** 2):  # correlation below ~0.9995
            glitches += 1
            worst = int(np.argmax(error[GLITCH:] - error[:-GLITCH]))
            outside[worst:worst + GLITCH] = False
        # Elsewhere the very samples the engine produced, at the same level.
        gain_db = 20 * np.log10(np.linalg.norm(there[outside]) / np.linalg.norm(piece[outside]))
        mismatch = np.sum((there - piece)[outside] ** 2) / np.sum(piece[outside] ** 2)
        assert mismatch < 1e-3 and abs(gain_db) < 0.1, (i, lag, mismatch, gain_db)
    print(f"virtual microphone: {len(heard) / live.rate:.2f} s recorded; delays "
          f"{sorted(set(lags))} samples ({gaps} gaps, {glitches} pieces with a glitch), "
          f"{dropped} samples dropped")
    assert len(found) >= 8  # the speech was there to compare
    assert gaps + glitches <= len(found) // 4, lags  # mostly clean, or nothing could be said
    assert sources().count(SOURCE_NAME) == 0 and not our_modules() and not players()


RUN = [sys.executable, "-m", "rtconvert.cli.commands", "run", "--virtual-mic", "--host-api",
       "JACK", "--no-control"]


@needs_pipewire
@needs_jackd
def test_a_killed_run_leaves_nothing_that_the_next_run_does_not_remove(pipewire, jack_server):
    """While a run feeds the source, another start is refused; SIGKILL leaves the modules in
    the server (they are the server's), the next start removes them before it makes its own,
    and SIGTERM removes them as Ctrl-C does."""
    killed = subprocess.Popen(RUN, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: SOURCE_NAME in sources() or killed.poll() is not None, 60), \
        killed.communicate()
    with pytest.raises(AudioDeviceError, match=rf"fed by another rtconvert \(process "
                                               rf"{killed.pid}\): stop it first"):
        VirtualMic(48000)
    killed.kill()
    killed.wait()
    assert len(our_modules()) == 2  # left behind
    assert wait_for(lambda: not players())  # its pacat ends as its input closes
    second = subprocess.Popen(RUN, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(second.stdout), daemon=True)
    reader.start()
    assert wait_for(lambda: any("virtual microphone" in line for line in lines)
                    or second.poll() is not None, 60), second.communicate()
    assert sources().count(SOURCE_NAME) == 1 and len(our_modules()) == 2
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0, second.stderr.read()
    assert SOURCE_NAME not in sources() and not our_modules() and not players()


def test_without_a_sound_server_it_says_so_in_one_line(tmp_path):
    """No PipeWire or PulseAudio answers, or its tools are missing: one line naming what to
    do instead, a non-zero exit, before any device or model is opened (nothing is left
    running)."""
    if shutil.which("pactl") is not None:
        env = os.environ | {"XDG_RUNTIME_DIR": str(tmp_path),
                            "PULSE_SERVER": f"unix:{tmp_path}/none"}
        done = subprocess.run(RUN[:-3], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("rtconvert: error: the virtual microphone needs PipeWire "
                                      "or PulseAudio, and none answers"), done.stderr
        assert "virtual cable" in done.stderr
    bare = tmp_path / "bin"  # a PATH with nothing on it
    bare.mkdir()
    no_tools = subprocess.run(RUN[:-3], capture_output=True, text=True, timeout=60,
                              env=os.environ | {"PATH": str(bare)})
    assert no_tools.returncode == 1 and no_tools.stderr.count("\n") == 1, no_tools.stderr
    assert "pactl and pacat (Debian: pulseaudio-utils)" in no_tools.stderr


@needs_pipewire
def test_its_push_from_the_audio_callback_allocates_nothing(pipewire):
    """The callback's share of the virtual microphone (docs/design.md's callback contract):
    a copy into the ring and a notify. Measured with its writer stopped, whose own work
    (bytes for pacat) tracemalloc would otherwise count from its thread."""
    import tracemalloc

    mic = VirtualMic(48000)
    mic.close()
    block = np.full(256, 0.1, dtype=np.float32)
    mic.push(block)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(200):
            mic.push(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 1024
    assert mic.overflows > 0  # the ring filled (nothing read it): counted, not grown
