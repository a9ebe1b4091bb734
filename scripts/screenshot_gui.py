"""README screenshot of the running app: JACK dummy server, speech fed in, a happy/surprised
mixture on the pad at 0.8, F0 shown.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_gui.py docs/gui.png
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import soundfile

os.environ.setdefault("JACK_DEFAULT_SERVER", "rtconvert-screenshot")
os.environ["JACK_NO_START_SERVER"] = "1"


def main(target: Path) -> None:
    from rtconvert.live.jack import start_dummy_server, stop_server

    server = start_dummy_server(os.environ["JACK_DEFAULT_SERVER"])
    import sounddevice as sd
    from PyQt6.QtWidgets import QApplication

    from rtconvert.app.window import MainWindow
    from rtconvert.bench.loopback import Feeder
    from rtconvert.bench.timing import bench_speech
    from rtconvert.bundle import load_bundle
    from rtconvert.control import ControlOptions
    from rtconvert.presets import PresetStore

    app = QApplication(sys.argv[:1])
    folder = Path(tempfile.mkdtemp())
    window = MainWindow(load_bundle(), PresetStore(folder / "presets.json"), ControlOptions())
    window.resize(1180, 760)
    window.show()
    window.save_preset("streaming: happy")
    # The pad's dot between happy and surprised, near the rim: a mixture of the two.
    angle = math.radians(39)
    window.emotion_panel.pad.move_dot(0.9 * math.cos(angle), 0.9 * math.sin(angle))
    window.intensity.setValue(80)
    window.measure_latency()  # the JACK loopback, in its own process
    while not window.status_panel.measure_button.isEnabled():
        app.processEvents()
        time.sleep(0.02)
    window.start_stream()
    speech = folder / "speech.wav"
    soundfile.write(speech, bench_speech(6, 48000), 48000, subtype="FLOAT")
    feeder = Feeder(speech, folder / "back.wav", *window.live.jack_ports())
    player = threading.Thread(target=feeder.play)
    player.start()
    deadline = time.monotonic() + 4.5  # the F0 view fills with most of its 4 s of speech
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    window.grab().save(str(target))
    player.join()
    window.close()
    sd._terminate()
    stop_server(server)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
