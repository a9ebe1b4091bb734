"""The PyQt6 app under pytest-qt (offscreen): controls, keys, presets, latency profiles, errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from helpers import needs_jackd, needs_pipewire, our_modules, sources
from PyQt6.QtCore import Qt

from rtconvert.app.audio_panel import DevicePanel
from rtconvert.app.window import MainWindow
from rtconvert.bundle import default_bundle_path, load_bundle
from rtconvert.live.virtualmic import SOURCE_NAME
from rtconvert.presets import LAST_SESSION, PresetStore
from rtconvert.profiles import PROFILES
from rtconvert.settings import Settings, parse_mixture


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
    sad = window.emotion_panel.buttons.button(window.emotions.index("sad"))
    qtbot.mouseClick(sad, Qt.MouseButton.LeftButton)
    window.intensity.setValue(80)
    window.settings_panel.gate.setValue(-40)
    window.settings_panel.output_gain.setValue(-6)
    assert window.settings == Settings(emotion="sad", intensity=0.8, gate_db=-40.0,
                                       output_gain_db=-6.0)
    window.settings_panel.gate.setValue(-90)
    assert math.isinf(window.settings.gate_db)
    assert window.settings_panel.gate_label.text() == "off"
    window.controller.command("mix", "happy=0.5,sad=0.5")  # e.g. over OSC: no button is it
    qtbot.waitUntil(lambda: window.emotion_panel.buttons.checkedButton() is None)
    window.controller.command("emotion", "sad")
    qtbot.waitUntil(lambda: window.emotion_panel.buttons.checkedButton() is sad)


def test_shortcuts_pick_emotions_and_bypass(window, qtbot):
    key = str(window.emotions.index("angry") + 1)
    qtbot.keyClick(window, key)
    assert window.settings.emotion == "angry"
    assert window.emotion_panel.buttons.checkedButton().text().startswith("Angry")
    qtbot.keyClick(window, "B")
    assert window.settings.bypass and window.emotion_panel.bypass_button.isChecked()
    qtbot.keyClick(window, "B")
    assert not window.settings.bypass
    qtbot.keyClick(window, "1")
    assert window.settings.emotion == "neutral"
    assert f"[{key}]" in window.emotion_panel.buttons.button(int(key) - 1).text()  # on the button


def test_presets_round_trip_through_the_config_file(window, qtbot, bundle, tmp_path):
    window.set_emotion("fearful")
    window.intensity.setValue(30)
    window.save_preset("quiet fear")
    window.set_emotion("happy")
    window.close()  # saves the last session too
    again = MainWindow(bundle, PresetStore(tmp_path / "presets.json"))
    qtbot.addWidget(again)
    assert again.settings.emotion == "happy" and again.settings.intensity == 0.3  # last session
    picker = again.settings_panel.preset_picker
    assert [picker.itemText(i) for i in range(picker.count())] == ["quiet fear"]
    again.set_emotion("calm")
    picker.activated.emit(0)  # as a click on its first item
    assert again.settings == Settings(emotion="fearful", intensity=0.3)
    assert LAST_SESSION in PresetStore(tmp_path / "presets.json").presets


def test_a_device_error_shows_a_message_instead_of_crashing(window, qtbot):
    window.input_picker.addItem("a device that is gone", 9999)
    window.input_picker.setCurrentIndex(window.input_picker.count() - 1)
    qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert window.live is None and not window.start_button.isChecked()
    assert window.banner.isVisible()
    assert "no input device 9999; input devices:" in window.banner.text()


def test_a_bad_model_folder_shows_a_message(window, tmp_path):
    window.load_model(tmp_path)
    assert window.banner.text() == f"bundle {tmp_path}: metadata.json is missing"
    assert window.bundle.metadata["name"] == "default"


def choose(panel: DevicePanel, profile: str) -> None:
    """Pick a latency profile as a user does: select it, and the picker says it was chosen."""
    index = panel.profile_picker.findData(profile)
    panel.profile_picker.setCurrentIndex(index)
    panel.profile_picker.activated.emit(index)


def test_the_latency_profile_picks_the_shipped_model_and_the_block(window, bundle):
    panel = window.device_panel
    assert panel.profile.name == bundle.latency_profile == "balanced"
    assert panel.block_picker.currentData() == PROFILES["balanced"].block == 256
    choose(panel, "low")
    assert window.bundle.path == default_bundle_path("low"), window.banner.text()
    assert panel.config().latency == "low" and panel.config().block == PROFILES["low"].block == 128
    assert panel.model_label.text().startswith("low: ")
    choose(panel, "balanced")
    assert window.bundle.path == default_bundle_path("balanced") and panel.config().block == 256
    # A model chosen with Model… stays, and runs with the profile it was trained for
    # until another is picked.
    window.load_model(default_bundle_path("low"))
    assert panel.config().latency == "low"
    choose(panel, "balanced")
    assert window.bundle.path == default_bundle_path("low")
    assert panel.config().latency == "balanced" and not window.banner.isVisible()


def assert_latency_adds_up(text: str, live) -> None:
    """The label's latency is the algorithmic one (fixed) plus a headroom of whole blocks (it
    follows the load: read once, so the numbers shown agree whenever the label was drawn)."""
    match = re.match(r"([\d.]+) ms through rtconvert \(([\d.]+) algorithmic \+ ([\d.]+) "
                     r"headroom\), ([\d.]+) ms with", text)
    assert match, text
    through, algorithmic, headroom, round_trip = map(float, match.groups())
    assert algorithmic == round(1000 * live.engine.algorithmic_latency_s(live.config.block), 1)
    assert through == pytest.approx(algorithmic + headroom, abs=0.11)
    block_ms = 1000 * live.config.block / live.rate
    assert abs(headroom - round(headroom / block_ms) * block_ms) <= 0.05  # shown to 0.1 ms
    assert headroom >= 1000 * live.headroom.base / live.rate - 0.05
    assert round_trip >= through


@needs_jackd
def test_the_status_names_the_running_profile_and_its_latency(jack_server, window, qtbot):
    panel, status = window.device_panel, window.status_panel
    assert "JACK" in panel.input_picker.currentText(), panel.input_picker.currentText()
    assert status.profile_label.text() == "—"
    choose(panel, "low")
    window.start_stream()
    low = window.live
    assert low is not None and low.active, window.banner.text()
    assert low.engine.profile.name == "low" and low.config.block == 128
    assert low.bundle.path == default_bundle_path("low")
    qtbot.waitUntil(lambda: status.profile_label.text() != "—")  # the readouts' timer
    assert status.profile_label.text() == \
        "low: 10 ms steps, 5 ms analysis lookahead, 128-sample blocks"
    assert_latency_adds_up(status.latency_label.text(), low)
    choose(panel, "balanced")  # while running: the stream restarts with the balanced model
    balanced = window.live
    assert balanced is not None and balanced is not low and balanced.active, window.banner.text()
    assert balanced.engine.profile.name == "balanced" and balanced.config.block == 256
    assert balanced.bundle.path == default_bundle_path("balanced")
    assert balanced.latency_s > low.latency_s
    qtbot.waitUntil(lambda: status.profile_label.text().startswith("balanced: 20 ms steps"))
    assert_latency_adds_up(status.latency_label.text(), balanced)
    window.close()
    assert window.live is None


def test_dragging_the_dot_across_the_pad_glides_between_emotions(window, qtbot, bundle):
    """A drag from happy's spot to sad's, in 2-pixel moves: the mixture follows the dot with no
    jump (each move changes any emotion's share by at most 0.15: 2 pixels of a radius of at
    least 86, at most 4.4 per radius), ends on sad, and the engine fed by it glides: per frame
    the condition moves no faster than the 50 ms glide lets it."""
    from rtconvert.circumplex import position
    from rtconvert.engine.engine import CONDITION_RAMP_S, Engine

    pad = window.emotion_panel.pad
    window.intensity.setValue(100)
    engine = Engine(bundle, 48000, window.settings)
    hop_s = bundle.features.hop_length / bundle.features.sample_rate
    start, end = pad.to_widget(*position("happy")), pad.to_widget(*position("sad"))
    n = max(2, round(math.dist((start.x(), start.y()), (end.x(), end.y())) / 2))
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start.toPoint())
    conditions, values = [window.settings.condition(bundle.emotions)], []
    for i in range(1, n + 1):
        point = start + (end - start) * (i / n)
        qtbot.mouseMove(pad, point.toPoint())
        conditions.append(window.settings.condition(bundle.emotions))
        engine.update(emotion=window.settings.emotion, intensity=window.settings.intensity)
        for _ in range(2):  # 10.7 ms of audio per move
            engine.process(np.zeros(256))
            values.append(engine._condition.value.copy())
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end.toPoint())
    steps = np.abs(np.diff(np.array(conditions), axis=0))
    assert steps.max() <= 0.15, steps.max()
    weights = dict(parse_mixture(window.settings.emotion, bundle.emotions))
    assert weights["sad"] > 0.95  # on sad's spot, to the pixel
    per_frame = np.abs(np.diff(np.array(values), axis=0)).max()
    frames_per_block = 256 / 48000 / hop_s
    assert per_frame <= frames_per_block * hop_s / CONDITION_RAMP_S + 1e-9


def test_the_arrow_keys_move_the_dot_from_the_centre(window, qtbot, bundle):
    pad = window.emotion_panel.pad
    pad.move_dot(0.0, 0.0)
    assert window.settings.emotion == "neutral"
    pad.setFocus()
    for _ in range(20):
        qtbot.keyClick(pad, Qt.Key.Key_Right)
    assert pad.dot == pytest.approx((1.0, 0.0))
    # 0° lies between calm (316°) and happy (8°), nearer happy: 44/52 of the way to it.
    assert dict(parse_mixture(window.settings.emotion, bundle.emotions)) == \
        pytest.approx({"happy": 44 / 52, "calm": 8 / 52}, abs=1e-3)


@needs_jackd
@needs_pipewire
def test_the_virtual_microphone_box_makes_the_source_while_the_stream_runs(
        jack_server, pipewire, window, qtbot, monkeypatch):
    panel = window.device_panel
    panel.virtual_mic_box.click()
    assert panel.config().virtual_mic
    qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert window.live is not None and window.live.virtual_mic is not None, window.banner.text()
    assert sources().count(SOURCE_NAME) == 1
    qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert window.live is None and SOURCE_NAME not in sources() and not our_modules()
    # Where no server answers: the reason on the banner, no stream.
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent")
    qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert window.live is None and not window.start_button.isChecked()
    assert window.banner.text().startswith(
        "the virtual microphone needs PipeWire or PulseAudio, and none answers")
    panel.virtual_mic_box.click()
