"""The desktop app: devices, emotion and intensity, meters and readouts around a LiveStream.

The UI thread only sets controls (``Engine.update`` is thread-safe) and reads the
stream's status on a timer; all audio work happens on PortAudio's and the engine's
threads. Errors from those threads arrive through a Qt signal and are shown in a
banner, never a modal dialog.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import time
from pathlib import Path

import platformdirs
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import (QApplication, QButtonGroup, QComboBox, QFileDialog, QFormLayout,
                             QGridLayout, QGroupBox, QHBoxLayout, QInputDialog, QLabel,
                             QMainWindow, QPushButton, QSlider, QVBoxLayout,
                             QWidget)

from .bundle import Bundle, load_bundle
from .control import Controller, ControlOptions
from .controls import NEUTRAL, Settings, default_emotion
from .errors import RtconvertError
from .devices import RESTART_ADVICE, device_choices, refresh_devices
from .display import check_display
from .gui_control import ControlPanel
from .gui_f0 import SeePanel
from .gui_status import StatusPanel
from .live import LiveConfig, LiveStream
from .presets import LAST_SESSION, PresetStore

BYPASS_KEY = "B"
#: Emotion buttons per row; the number keys 1-9 choose the first nine.
BUTTONS_PER_ROW = 4


def _slider(low: int, high: int, value: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(value)
    return slider


class MainWindow(QMainWindow):
    """The rtconvert window.

    Parameters
    ----------
    bundle : Bundle
        The model to start with (the shipped one by default).
    presets : PresetStore
        Where presets and the last session's controls are kept.
    control : ControlOptions, optional
        Where the OSC/WebSocket control server listens; None runs none.
    """

    stream_stopped = pyqtSignal(str)  # emitted from an audio thread, handled on the UI thread

    def __init__(self, bundle: Bundle, presets: PresetStore,
                 control: ControlOptions | None = None) -> None:
        super().__init__()
        self.setWindowTitle("rtconvert: emotional voice conversion")
        self.bundle, self.presets = bundle, presets
        last = presets.presets.get(LAST_SESSION)
        # Every change, from the widgets here or from outside, goes through the controller.
        fresh = Settings(emotion=default_emotion(bundle.emotions))  # as `rtconvert run`
        self.controller = Controller(bundle.emotions, last if self._valid(last) else fresh,
                                     presets)
        self._shown_version = -1
        self.live: LiveStream | None = None
        self.recording_folder = Path(platformdirs.user_music_dir()) / "rtconvert"

        central = QWidget()
        outer = QVBoxLayout(central)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fde2e1; color: #8a1c14; padding: 6px;")
        self.banner.hide()
        outer.addWidget(self.banner)
        columns = QHBoxLayout()
        outer.addLayout(columns)
        layout, right = QVBoxLayout(), QVBoxLayout()
        columns.addLayout(layout)
        columns.addLayout(right)
        layout.addWidget(self._devices_box())
        layout.addWidget(self._emotion_box())
        layout.addWidget(self._controls_box())
        self.status_panel = StatusPanel()
        self.status_panel.measure_button.clicked.connect(self.measure_latency)
        self.status_panel.measured.connect(self._measured)
        self._resume_after_measuring = False
        layout.addWidget(self.status_panel)
        self.see_panel = SeePanel()
        self.see_panel.hear_button.clicked.connect(self.hear_it)
        right.addWidget(self.see_panel, 1)
        self.control_panel = ControlPanel(self.controller, presets, control)
        right.addWidget(self.control_panel)
        self.setCentralWidget(central)
        self.stream_stopped.connect(self._on_stream_stopped)
        self._show_settings()

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._refresh_readouts)
        self.timer.start(50)
        self._refresh_readouts()

    @property
    def settings(self) -> Settings:
        return self.controller.settings

    def _valid(self, settings: Settings | None) -> bool:
        try:
            return settings is not None and settings.validate(self.bundle.emotions) is not None
        except RtconvertError:
            return False

    # -- building ------------------------------------------------------------------------

    def _devices_box(self) -> QGroupBox:
        box = QGroupBox("Audio")
        form = QFormLayout(box)
        self.input_picker, self.output_picker, self.monitor_picker = (QComboBox() for _ in range(3))
        self.block_picker = QComboBox()
        for block in (128, 256, 512, 1024):
            self.block_picker.addItem(f"{block} samples", block)
        self.block_picker.setCurrentIndex(1)
        refresh = QPushButton("Refresh devices")
        refresh.clicked.connect(self.refresh_devices)
        self.model_label = QLabel()
        choose_model = QPushButton("Model…")
        choose_model.clicked.connect(self._choose_model)
        self.start_button = QPushButton("Start")
        self.start_button.setCheckable(True)
        self.start_button.toggled.connect(self._toggle_stream)
        form.addRow("Input", self.input_picker)
        form.addRow("Output", self.output_picker)
        form.addRow("Monitor (headphones)", self.monitor_picker)
        form.addRow("Block", self.block_picker)
        row = QHBoxLayout()
        row.addWidget(self.model_label, 1)
        row.addWidget(choose_model)
        form.addRow("Model", row)
        buttons = QHBoxLayout()
        buttons.addWidget(refresh)
        buttons.addWidget(self.start_button)
        form.addRow(buttons)
        self._fill_devices()
        self._show_model()
        return box

    @property
    def emotions(self) -> tuple[str, ...]:
        """The emotions of the loaded model, in the order of their buttons and keys."""
        return (NEUTRAL, *self.bundle.emotions)

    def _emotion_box(self) -> QGroupBox:
        self.emotion_group = QGroupBox()
        self.emotion_grid = QGridLayout(self.emotion_group)
        self.emotion_buttons = QButtonGroup(self)
        self.emotion_buttons.idClicked.connect(lambda i: self.set_emotion(self.emotions[i]))
        self._emotion_shortcuts: list[QShortcut] = []
        self.bypass_button = QPushButton(f"Bypass (A/B)  [{BYPASS_KEY}]")
        self.bypass_button.setCheckable(True)
        self.bypass_button.toggled.connect(lambda on: self.apply(bypass=on))
        QShortcut(QKeySequence(BYPASS_KEY), self, activated=self.bypass_button.toggle)
        self._fill_emotions()
        return self.emotion_group

    def _fill_emotions(self) -> None:
        """One button per emotion of the loaded model, the first nine on the number keys."""
        for button in self.emotion_buttons.buttons():
            self.emotion_buttons.removeButton(button)
            button.deleteLater()
        for shortcut in self._emotion_shortcuts:
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        self._emotion_shortcuts = []
        for i, emotion in enumerate(self.emotions):
            key = f"  [{i + 1}]" if i < 9 else ""
            button = QPushButton(f"{emotion.capitalize()}{key}")
            button.setCheckable(True)
            self.emotion_buttons.addButton(button, i)
            self.emotion_grid.addWidget(button, i // BUTTONS_PER_ROW, i % BUTTONS_PER_ROW)
            if i < 9:
                self._emotion_shortcuts.append(QShortcut(
                    QKeySequence(str(i + 1)), self, activated=lambda e=emotion: self.set_emotion(e)))
        rows = (len(self.emotions) + BUTTONS_PER_ROW - 1) // BUTTONS_PER_ROW
        self.emotion_grid.addWidget(self.bypass_button, rows, 0, 1, BUTTONS_PER_ROW)
        keys = f"1–{min(9, len(self.emotions))}"
        self.emotion_group.setTitle(f"Emotion (keys {keys}, bypass {BYPASS_KEY})")

    def _controls_box(self) -> QGroupBox:
        box = QGroupBox("Controls")
        form = QFormLayout(box)
        self.intensity = _slider(0, 100, 50)
        self.intensity.valueChanged.connect(lambda v: self.apply(intensity=v / 100))
        self.gate = _slider(-90, -20, -55)
        self.gate.valueChanged.connect(
            lambda v: self.apply(gate_db=-math.inf if v == -90 else float(v)))
        self.input_gain = _slider(-24, 24, 0)
        self.input_gain.valueChanged.connect(lambda v: self.apply(input_gain_db=float(v)))
        self.output_gain = _slider(-24, 24, 0)
        self.output_gain.valueChanged.connect(lambda v: self.apply(output_gain_db=float(v)))
        self.intensity_label, self.gate_label = QLabel(), QLabel()
        self.gain_labels = (QLabel(), QLabel())
        for title, slider, label in (("Intensity", self.intensity, self.intensity_label),
                                     ("Silence gate", self.gate, self.gate_label),
                                     ("Input gain", self.input_gain, self.gain_labels[0]),
                                     ("Output gain", self.output_gain, self.gain_labels[1])):
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            label.setMinimumWidth(70)
            row.addWidget(label)
            form.addRow(title, row)
        self.preset_picker = QComboBox()
        self.preset_picker.activated.connect(self._load_preset)
        save, delete = QPushButton("Save preset…"), QPushButton("Delete")
        save.clicked.connect(self._save_preset)
        delete.clicked.connect(self._delete_preset)
        row = QHBoxLayout()
        row.addWidget(self.preset_picker, 1)
        row.addWidget(save)
        row.addWidget(delete)
        form.addRow("Preset", row)
        self.record_button = QPushButton("Record input and output")
        self.record_button.setCheckable(True)
        self.record_button.toggled.connect(self._toggle_recording)
        form.addRow(self.record_button)
        self._fill_presets()
        return box

    # -- devices and the stream ----------------------------------------------------------

    def _fill_devices(self) -> None:
        for picker, kind, optional in ((self.input_picker, "input", False),
                                       (self.output_picker, "output", False),
                                       (self.monitor_picker, "output", True)):
            picker.clear()
            picker.addItem("(none)" if optional else "(system default)", None)
            for index, label in device_choices(kind):
                picker.addItem(label, index)
            if not optional and picker.count() > 1:
                picker.setCurrentIndex(1)

    def refresh_devices(self) -> None:
        if self.live is not None:
            self.show_error("stop the stream before rescanning devices")
            return
        try:
            refresh_devices()
        except RtconvertError as exc:
            self.show_error(str(exc))
            return
        self._fill_devices()

    def _choose_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model bundle folder")
        if folder:
            self.load_model(Path(folder))

    def load_model(self, path: Path) -> None:
        try:
            bundle = load_bundle(path)
        except RtconvertError as exc:
            self.show_error(str(exc))
            return
        running = self.live is not None
        self.stop_stream()
        self.bundle = bundle
        self.controller.set_emotions(bundle.emotions)  # an emotion it lacks becomes neutral
        self.control_panel.fill_learn_targets()
        self._fill_emotions()
        self._show_model()
        self._show_settings()
        if running:
            self.start_stream()

    def _show_model(self) -> None:
        self.model_label.setText(f"{self.bundle.metadata['name']}: {len(self.bundle.emotions)} "
                                 f"emotions ({self.bundle.path})")
        self.model_label.setToolTip(self.bundle.licence)

    def _toggle_stream(self, on: bool) -> None:
        if on and self.live is None:
            self.start_stream()
        elif not on and self.live is not None:
            self.stop_stream()

    def start_stream(self) -> None:
        config = LiveConfig(input_device=self.input_picker.currentData(),
                            output_device=self.output_picker.currentData(),
                            monitor_device=self.monitor_picker.currentData(),
                            block=self.block_picker.currentData())
        try:
            live = LiveStream(self.bundle, config, self.settings, on_stop=self.stream_stopped.emit)
            live.start()
        except RtconvertError as exc:
            self.show_error(str(exc))
            self.start_button.setChecked(False)
            return
        self.live = live
        self.controller.attach(live)
        self.banner.hide()
        self.start_button.setChecked(True)
        self.start_button.setText("Stop")

    def stop_stream(self) -> None:
        live, self.live = self.live, None
        self.controller.attach(None)
        if live is not None:
            live.stop()
            if live.recording_error:
                self.show_error(live.recording_error)
        self.record_button.setChecked(False)
        self.start_button.setChecked(False)
        self.start_button.setText("Start")

    def _on_stream_stopped(self, message: str) -> None:
        self.stop_stream()
        self.show_error(f"{message}; {RESTART_ADVICE}.")

    def show_error(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.show()

    def _toggle_recording(self, on: bool) -> None:
        if self.live is None:
            if on:
                self.show_error("start the stream to record")
                self.record_button.setChecked(False)
            return
        if on:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            try:
                self.recording_folder.mkdir(parents=True, exist_ok=True)
                self.live.start_recording(self.recording_folder / f"{stamp}-input.wav",
                                          self.recording_folder / f"{stamp}-output.wav")
            except (RtconvertError, OSError) as exc:
                self.show_error(f"cannot record to {self.recording_folder}: {exc}")
                self.record_button.setChecked(False)
                return
            self.record_button.setText(f"Recording to {self.recording_folder}…")
        else:
            try:
                self.live.stop_recording()
            except RtconvertError as exc:  # e.g. the disk filled: what was recorded is kept
                self.show_error(str(exc))
            self.record_button.setText("Record input and output")

    # -- controls ------------------------------------------------------------------------

    def set_emotion(self, emotion: str) -> None:
        self.apply(emotion=emotion)

    def apply(self, **changes) -> None:
        """Change controls through the controller (which hands them to the running engine)."""
        try:
            self.controller.apply(**changes)
        except RtconvertError as exc:
            self.show_error(str(exc))
        self._show_settings()

    def _show_settings(self) -> None:
        self._shown_version = self.controller.version
        s = self.settings
        quiet = (self.intensity, self.gate, self.input_gain, self.output_gain, self.bypass_button)
        for widget in quiet:  # showing a value must not apply it again
            widget.blockSignals(True)
        self.emotion_buttons.button(self.emotions.index(s.emotion)).setChecked(True)
        self.bypass_button.setChecked(s.bypass)
        self.intensity.setValue(round(100 * s.intensity))
        self.gate.setValue(-90 if math.isinf(s.gate_db) else round(s.gate_db))
        self.input_gain.setValue(round(s.input_gain_db))
        self.output_gain.setValue(round(s.output_gain_db))
        for widget in quiet:
            widget.blockSignals(False)
        self.intensity_label.setText(f"{s.intensity:.2f}")
        self.gate_label.setText("off" if math.isinf(s.gate_db) else f"{s.gate_db:.0f} dB")
        self.gain_labels[0].setText(f"{s.input_gain_db:+.0f} dB")
        self.gain_labels[1].setText(f"{s.output_gain_db:+.0f} dB")

    def _fill_presets(self) -> None:
        self.preset_picker.clear()
        self.preset_picker.addItems(self.presets.names())

    def _save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name:")
        if ok and name.strip():
            self.save_preset(name.strip())

    def save_preset(self, name: str) -> None:
        self.presets.save(name, self.settings)
        self._fill_presets()
        self.preset_picker.setCurrentText(name)

    def _load_preset(self, _: int = 0) -> None:
        settings = self.presets.presets.get(self.preset_picker.currentText())
        if settings is not None and self._valid(settings):
            self.apply(**dataclasses.asdict(settings))

    def _delete_preset(self) -> None:
        self.presets.delete(self.preset_picker.currentText())
        self._fill_presets()

    # -- latency measurement and readouts ------------------------------------------------

    def measure_latency(self) -> None:
        """Measure the round trip on JACK; the live stream pauses meanwhile and resumes after."""
        self._resume_after_measuring = self.live is not None
        self.stop_stream()
        self.status_panel.measure(self.block_picker.currentData(), self.bundle.path)

    def _measured(self, error: str) -> None:
        if error:
            self.show_error(error)
        if self._resume_after_measuring:
            self.start_stream()

    def _refresh_readouts(self) -> None:
        self.status_panel.show_status(self.live)
        self.see_panel.show_stream(self.live)
        if self.controller.version != self._shown_version:  # changed from outside
            self._show_settings()

    def hear_it(self) -> None:
        """Play the last seconds converted, then unconverted, on the monitor device."""
        try:
            if self.live is not None:
                self.live.hear_it()
        except RtconvertError as exc:
            self.show_error(str(exc))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.status_panel.cancel()
        self.control_panel.close_all()
        self.stop_stream()
        self.presets.save(LAST_SESSION, self.settings)
        event.accept()


def run_app(model: Path | None = None, control: ControlOptions | None = None) -> int:
    """Start the app with ``model`` (default: the shipped bundle) and, given ``control``, its
    control server; returns its exit code."""
    check_display()
    bundle = load_bundle(model)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(bundle, PresetStore(), control)
    window.show()
    # Ctrl-C in the terminal closes the window like its close button. Qt's event loop
    # runs no Python, so a timer lets the interpreter look at signals now and then.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(SIGNAL_POLL_MS)
    print(f"rtconvert gui: model {bundle.metadata.get('name', '?')}, "
          f"{window.settings.emotion} at intensity {window.settings.intensity:g}; close the "
          "window or press Ctrl-C to quit", flush=True)
    return app.exec()


#: How often the event loop hands control to Python, so that Ctrl-C is seen (ms).
SIGNAL_POLL_MS = 200
