"""Dropouts of the running app on a JACK server: speech fed in, event loop running, recording on.

    jackd -R -d dummy -r 48000 -p 256 &
    QT_QPA_PLATFORM=offscreen python scripts/soak_app.py --seconds 30 --runs 3

Prints one JSON line per run: underruns and overruns counted by the stream, xruns seen by
the feeding client (a second JACK client process, as OBS or a DAW would be).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path

import soundfile
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from rtconvert.app.main import MainWindow
from rtconvert.bench.loopback import Feeder
from rtconvert.bench.timing import bench_speech
from rtconvert.bundle import load_bundle
from rtconvert.presets import PresetStore


def soak(app: QApplication, window: MainWindow, speech: Path) -> dict:
    """One run: start the stream and recording, play ``speech`` through it, stop."""
    window.start_stream()
    window.record_button.setChecked(True)
    live = window.live
    feeder = Feeder(speech, speech.with_name("back.wav"), *live.jack_ports())
    result: dict = {}

    def play() -> None:
        before = live.underruns, live.status.input_overflows
        result.update(xruns=feeder.play()["xruns"])
        result.update(underruns=live.underruns - before[0],
                      overruns=live.status.input_overflows - before[1])
        QTimer.singleShot(0, app.quit)

    threading.Thread(target=play, daemon=True).start()
    app.exec()
    window.record_button.setChecked(False)
    window.stop_stream()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    folder = Path(tempfile.mkdtemp())
    window = MainWindow(load_bundle(), PresetStore(folder / "presets.json"))
    window.recording_folder = folder / "recordings"
    window.show()
    window.set_emotion("happy")
    window.intensity.setValue(100)
    speech = folder / "speech.wav"
    soundfile.write(speech, bench_speech(args.seconds, 48000), 48000, subtype="FLOAT")
    for _ in range(args.runs):
        print(json.dumps({"seconds": args.seconds, **soak(app, window, speech)}), flush=True)
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
