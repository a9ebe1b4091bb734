"""``rtconvert gui``: the desktop app's window in its own Qt application, until closed or Ctrl-C."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from ..bundle import load_for_latency
from ..control import ControlOptions
from ..presets import PresetStore
from ..settings import Settings
from .display import check_display
from .window import MainWindow

#: How often the event loop hands control to Python, so that Ctrl-C is seen (ms).
SIGNAL_POLL_MS = 200


def run_app(model: Path | None = None, control: ControlOptions | None = None,
            latency: str | None = None, fixed_headroom_s: float | None = None,
            emotion: str | None = None, denoise: bool | None = None) -> int:
    """Start the app with ``model`` (default: the shipped bundle of ``latency``), the latency
    profile ``latency`` (default: the model's own), given ``control`` its control server, the
    headroom held at ``fixed_headroom_s``, the emotion (or mixture) ``emotion`` if given
    (else the last session's) and noise suppression ``denoise`` (default: as the model was
    trained); returns its exit code."""
    check_display()
    bundle, profile = load_for_latency(model, latency)
    if emotion is not None:
        emotion = Settings(emotion=emotion).validate(bundle.emotions).emotion
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(bundle, PresetStore(), control, profile.name, fixed_headroom_s,
                        denoise)
    if emotion is not None:
        window.apply(emotion=emotion)
    window.show()
    # Ctrl-C in the terminal closes the window like its close button. Qt's event loop
    # runs no Python, so a timer lets the interpreter look at signals now and then.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    signal.signal(signal.SIGTERM, lambda *_: window.close())  # the same: nothing left behind
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(SIGNAL_POLL_MS)
    ready = (f"rtconvert gui: model {bundle.metadata.get('name', '?')}, latency profile "
             f"{profile.name}, {window.settings.emotion} at intensity "
             f"{window.settings.intensity:g}; close the window or press Ctrl-C to quit")
    # Said from inside the event loop: once it is printed, the app answers Ctrl-C.
    QTimer.singleShot(0, lambda: print(ready, flush=True))
    return app.exec()
