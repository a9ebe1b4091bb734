"""The app's controls panel: intensity, gate and gain sliders, presets, and the record button."""

from __future__ import annotations

import math
import time
from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSlider,
)

from ..errors import RtconvertError
from ..live.stream import LiveStream
from ..presets import PresetStore
from ..settings import Settings

RECORD = "Record input and output"
#: The gate slider's lowest position turns the gate off.
GATE_OFF = -90


def _slider(low: int, high: int, value: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(value)
    return slider


class SettingsPanel(QGroupBox):
    """Emits ``changed`` with the controls a slider asks for, ``preset_chosen`` with a stored
    preset's Settings and ``save_asked`` with the name to save the current ones under.

    The window connects ``record_button`` to :meth:`record`, with the running stream.
    """

    changed = pyqtSignal(dict)
    preset_chosen = pyqtSignal(Settings)
    save_asked = pyqtSignal(str)

    def __init__(self, presets: PresetStore) -> None:
        super().__init__("Controls")
        self.presets = presets
        form = QFormLayout(self)
        self.intensity = _slider(0, 100, 50)
        self.intensity.valueChanged.connect(lambda v: self.changed.emit({"intensity": v / 100}))
        self.gate = _slider(GATE_OFF, -20, -55)
        self.gate.valueChanged.connect(lambda v: self.changed.emit(
            {"gate_db": -math.inf if v == GATE_OFF else float(v)}))
        self.input_gain = _slider(-24, 24, 0)
        self.input_gain.valueChanged.connect(
            lambda v: self.changed.emit({"input_gain_db": float(v)}))
        self.output_gain = _slider(-24, 24, 0)
        self.output_gain.valueChanged.connect(
            lambda v: self.changed.emit({"output_gain_db": float(v)}))
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
        save.clicked.connect(self._ask_name)
        delete.clicked.connect(self._delete_preset)
        row = QHBoxLayout()
        row.addWidget(self.preset_picker, 1)
        row.addWidget(save)
        row.addWidget(delete)
        form.addRow("Preset", row)
        self.record_button = QPushButton(RECORD)
        self.record_button.setCheckable(True)
        form.addRow(self.record_button)
        self._fill_presets()

    def show_settings(self, s: Settings) -> None:
        """Move the sliders to ``s`` and label them, applying nothing."""
        sliders = (self.intensity, self.gate, self.input_gain, self.output_gain)
        for slider in sliders:  # showing a value must not apply it again
            slider.blockSignals(True)
        self.intensity.setValue(round(100 * s.intensity))
        self.gate.setValue(GATE_OFF if math.isinf(s.gate_db) else round(s.gate_db))
        self.input_gain.setValue(round(s.input_gain_db))
        self.output_gain.setValue(round(s.output_gain_db))
        for slider in sliders:
            slider.blockSignals(False)
        self.intensity_label.setText(f"{s.intensity:.2f}")
        self.gate_label.setText("off" if math.isinf(s.gate_db) else f"{s.gate_db:.0f} dB")
        self.gain_labels[0].setText(f"{s.input_gain_db:+.0f} dB")
        self.gain_labels[1].setText(f"{s.output_gain_db:+.0f} dB")

    def save_preset(self, name: str, settings: Settings) -> None:
        self.presets.save(name, settings)
        self._fill_presets()
        self.preset_picker.setCurrentText(name)

    def _fill_presets(self) -> None:
        self.preset_picker.clear()
        self.preset_picker.addItems(self.presets.names())

    def _ask_name(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name:")
        if ok and name.strip():
            self.save_asked.emit(name.strip())

    def _load_preset(self, _: int = 0) -> None:
        settings = self.presets.presets.get(self.preset_picker.currentText())
        if settings is not None:
            self.preset_chosen.emit(settings)

    def _delete_preset(self) -> None:
        self.presets.delete(self.preset_picker.currentText())
        self._fill_presets()

    def record(self, live: LiveStream | None, folder: Path, on: bool) -> str:
        """Start (``on``) or stop recording ``live``'s input and output into ``folder``;
        returns what went wrong, empty when nothing did."""
        if not on:
            self.record_button.setText(RECORD)  # also when the stream stopped first
            try:
                if live is not None:
                    live.stop_recording()
            except RtconvertError as exc:  # e.g. the disk filled: what was recorded is kept
                return str(exc)
            return ""
        if live is None:
            self.record_button.setChecked(False)
            return "start the stream to record"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            live.start_recording(folder / f"{stamp}-input.wav", folder / f"{stamp}-output.wav")
        except (RtconvertError, OSError) as exc:
            self.record_button.setChecked(False)
            return f"cannot record to {folder}: {exc}"
        self.record_button.setText(f"Recording to {folder}…")
        return ""
