"""The PyQt6 app under pytest-qt (offscreen): controls drive the engine, shortcuts, presets, errors."""

from __future__ import annotations

import math

import pytest
from PyQt6.QtCore import Qt

from rtconvert.bundle import load_bundle
from rtconvert.controls import Settings
from rtconvert.gui import MainWindow
from rtconvert.presets import LAST_SESSION, PresetStore


@pytest.fixture(scope="module")
def bundle():
    return load_bundle()


@pytest.fixture
def window(qtbot, bundle, tmp_path):
    window = MainWindow(bundle, PresetStore(tmp_path / "presets.json"))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts go to the active window
    return window


def test_controls_change_the_settings(window, qtbot):
    qtbot.mouseClick(window.emotion_buttons.button(window.emotions.index("sad")), Qt.MouseButton.LeftButton)
    window.intensity.setValue(80)
    window.gate.setValue(-40)
    window.output_gain.setValue(-6)
    assert window.settings == Settings(emotion="sad", intensity=0.8, gate_db=-40.0,
                                       output_gain_db=-6.0)
    window.gate.setValue(-90)
    assert math.isinf(window.settings.gate_db) and window.gate_label.text() == "off"


def test_shortcuts_pick_emotions_and_bypass(window, qtbot):
    key = str(window.emotions.index("angry") + 1)
    qtbot.keyClick(window, key)
    assert window.settings.emotion == "angry"
    assert window.emotion_buttons.checkedButton().text().startswith("Angry")
    qtbot.keyClick(window, "B")
    assert window.settings.bypass and window.bypass_button.isChecked()
    qtbot.keyClick(window, "B")
    assert not window.settings.bypass
    qtbot.keyClick(window, "1")
    assert window.settings.emotion == "neutral"
    assert f"[{key}]" in window.emotion_buttons.button(int(key) - 1).text()  # shown in the UI


def test_presets_round_trip_through_the_config_file(window, qtbot, bundle, tmp_path):
    window.set_emotion("fearful")
    window.intensity.setValue(30)
    window.save_preset("quiet fear")
    window.set_emotion("happy")
    window.close()  # saves the last session too
    again = MainWindow(bundle, PresetStore(tmp_path / "presets.json"))
    qtbot.addWidget(again)
    assert again.settings.emotion == "happy" and again.settings.intensity == 0.3  # last session
    assert [again.preset_picker.itemText(i) for i in range(again.preset_picker.count())] == ["quiet fear"]
    again.set_emotion("calm")
    again._load_preset()
    assert again.settings == Settings(emotion="fearful", intensity=0.3)
    assert LAST_SESSION in PresetStore(tmp_path / "presets.json").presets


def test_a_device_error_shows_a_message_instead_of_crashing(window, qtbot):
    window.input_picker.addItem("a device that is gone", 9999)
    window.input_picker.setCurrentIndex(window.input_picker.count() - 1)
    qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert window.live is None and not window.start_button.isChecked()
    assert window.banner.isVisible() and "no input device 9999; input devices:" in window.banner.text()


def test_a_bad_model_folder_shows_a_message(window, tmp_path):
    window.load_model(tmp_path)
    assert "metadata.json is missing" in window.banner.text() or "is missing" in window.banner.text()
    assert window.bundle.metadata["name"] == "default"
