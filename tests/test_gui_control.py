"""The app with its control server, MIDI learning and F0 display (PyQt6 offscreen, pytest-qt)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PyQt6.QtGui import QColor
from websockets.sync.client import connect

from rtconvert.app.f0_panel import OUTPUT_COLOUR, F0View
from rtconvert.app.window import MainWindow
from rtconvert.bundle import load_bundle
from rtconvert.control import ControlOptions
from rtconvert.engine.f0trace import F0Trace
from rtconvert.presets import PresetStore
from rtconvert.settings import NEUTRAL


@pytest.fixture(scope="module")
def bundle():
    return load_bundle()


@pytest.fixture
def window(qtbot, bundle, tmp_path):
    window = MainWindow(bundle, PresetStore(tmp_path / "presets.json"), ControlOptions(port=0))
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def test_a_websocket_message_moves_the_app_s_widgets(window, qtbot, bundle):
    servers = window.control_panel.servers
    assert servers is not None and f":{servers.port}" in window.control_panel.server_label.text()
    emotion = bundle.emotions[-1]
    with connect(f"ws://127.0.0.1:{servers.port}/", compression=None) as ws:
        ws.send(json.dumps({"command": "emotion", "value": emotion}))
        assert json.loads(ws.recv(timeout=3))["ok"]
        ws.send(json.dumps({"command": "intensity", "value": 0.25}))
        assert json.loads(ws.recv(timeout=3))["status"]["intensity"] == 0.25
        ws.send(json.dumps({"command": "intensity", "value": "NaN"}))
        assert not json.loads(ws.recv(timeout=3))["ok"]
    qtbot.waitUntil(lambda: window.intensity.value() == 25, timeout=2000)  # the UI timer
    checked = window.emotion_panel.buttons.checkedButton()
    assert checked.text().startswith(emotion.capitalize())
    assert window.intensity_label.text() == "0.25"
    window.intensity.setValue(70)  # and the widgets go through the same controller
    assert window.controller.settings.intensity == 0.7


def test_midi_learning_in_the_app(window, qtbot, bundle, tmp_path):
    panel = window.control_panel
    targets = [panel.learn_picker.itemData(i) for i in range(panel.learn_picker.count())]
    emotions = [f"emotion:{e}" for e in (NEUTRAL, *bundle.emotions)]
    assert targets == ["intensity", "bypass", *emotions]
    panel.learn_picker.setCurrentIndex(targets.index(f"emotion:{bundle.emotions[0]}"))
    panel.learn_button.setChecked(True)
    assert panel.learn_button.text().startswith("Move a knob")
    panel.midi.receive([0x99, 36, 100])  # as a MIDI input thread would
    qtbot.waitUntil(lambda: not panel.learn_button.isChecked(), timeout=2000)
    assert f"note 36 (channel 10) → emotion:{bundle.emotions[0]}" in panel.midi_label.text()
    panel.midi.receive([0x99, 36, 100])
    qtbot.waitUntil(lambda: window.settings.emotion == bundle.emotions[0], timeout=2000)
    saved = PresetStore(tmp_path / "presets.json").midi
    assert {"kind": "note", "channel": 9, "number": 36,
            "target": f"emotion:{bundle.emotions[0]}"} in saved


def test_without_a_display_the_app_says_why_there_are_no_global_hotkeys(window, monkeypatch):
    panel = window.control_panel
    if panel.hotkeys_box.isEnabled():
        pytest.skip("this desktop has global hotkeys")
    assert "rtconvert ctl emotion angry" in panel.hotkeys_label.text()
    assert not panel.hotkeys_box.isChecked()


def test_a_second_app_on_the_same_port_says_so(window, qtbot, bundle, tmp_path):
    port = window.control_panel.servers.port
    other = MainWindow(bundle, PresetStore(tmp_path / "other.json"), ControlOptions(port=port))
    qtbot.addWidget(other)
    assert other.control_panel.servers is None
    assert "is another rtconvert running" in other.control_panel.server_label.text()
    other.close()


def test_the_f0_view_draws_input_and_output_contours(qtbot):
    view = F0View()
    qtbot.addWidget(view)
    view.resize(400, 160)
    trace = F0Trace(4.0, 5.0)
    voiced = np.r_[np.full(300, 120.0), np.zeros(100), np.full(300, 130.0)]
    trace.push(voiced, 1.5 * voiced)
    live = SimpleNamespace(engine=SimpleNamespace(f0_trace=trace),
                           status=SimpleNamespace(output_db=-20.0))
    view.show_stream(live)
    assert view.f0.shape == (2, 700) and view.levels_db[-1] == -20.0
    image = view.grab().toImage()
    orange = sum(image.pixelColor(x, y) == OUTPUT_COLOUR
                 for x in range(0, 400, 2) for y in range(0, 160, 2))
    grey = sum(image.pixelColor(x, y) == QColor("#8a8a8a")
               for x in range(0, 400, 2) for y in range(0, 160, 2))
    assert orange > 20 and grey > 20
    view.show_stream(None)
    assert view.f0.shape == (2, 0)
