"""The app's audio panel: devices, block, latency profile, model, and the Start button."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
)

from ..bundle import Bundle
from ..live.devices import device_choices
from ..live.stream import LiveConfig
from ..profiles import PROFILES, LatencyProfile
from .status_panel import profile_text

BLOCKS = (128, 256, 512, 1024)


class DevicePanel(QGroupBox):
    """Picks the devices, block, latency profile and model a stream opens with.

    The window reacts to ``profile_chosen`` (a profile's name) and ``model_chosen`` (a
    bundle folder), and connects ``refresh_button`` and ``start_button`` itself: what they
    do depends on the running stream.
    """

    profile_chosen = pyqtSignal(str)
    model_chosen = pyqtSignal(Path)

    def __init__(self, profile: LatencyProfile, fixed_headroom_s: float | None = None,
                 denoise: bool | None = None) -> None:
        super().__init__("Audio")
        self.fixed_headroom_s = fixed_headroom_s  # rtconvert gui --fixed-headroom
        self.denoise = denoise  # rtconvert gui --denoise; None: as each model was trained
        form = QFormLayout(self)
        self.input_picker, self.output_picker, self.monitor_picker = (QComboBox() for _ in range(3))
        self.virtual_mic_box = QCheckBox('Virtual microphone "rtconvert"')
        self.virtual_mic_box.setToolTip("Also send the converted voice to a microphone named "
                                        "rtconvert that Discord and OBS list (PipeWire or "
                                        "PulseAudio); removed when the stream stops")
        self.denoise_box = QCheckBox("Suppress noise (8.4 ms)")
        self.denoise_box.setToolTip("Noise suppression in front of the analysis; on by default "
                                    "where the model was trained with it")
        self.block_picker = QComboBox()
        for block in BLOCKS:
            self.block_picker.addItem(f"{block} samples", block)
        self.profile_picker = QComboBox()
        for name, choice in PROFILES.items():
            self.profile_picker.addItem(profile_text(choice), name)
        self.show_profile(profile)
        self.profile_picker.activated.connect(
            lambda _: self.profile_chosen.emit(self.profile_picker.currentData()))
        self.refresh_button = QPushButton("Refresh devices")
        self.model_label = QLabel()
        choose_model = QPushButton("Model…")
        choose_model.clicked.connect(self._choose_model)
        self.start_button = QPushButton("Start")
        self.start_button.setCheckable(True)
        form.addRow("Input", self.input_picker)
        form.addRow("Output", self.output_picker)
        form.addRow("Monitor (headphones)", self.monitor_picker)
        form.addRow("", self.virtual_mic_box)
        form.addRow("", self.denoise_box)
        form.addRow("Latency", self.profile_picker)
        form.addRow("Block", self.block_picker)
        row = QHBoxLayout()
        row.addWidget(self.model_label, 1)
        row.addWidget(choose_model)
        form.addRow("Model", row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.start_button)
        form.addRow(buttons)
        self.fill_devices()

    @property
    def profile(self) -> LatencyProfile:
        return PROFILES[self.profile_picker.currentData()]

    def show_profile(self, profile: LatencyProfile) -> None:
        """Select ``profile`` and the block that goes with it (the user may change the block)."""
        self.profile_picker.setCurrentIndex(self.profile_picker.findData(profile.name))
        self.block_picker.setCurrentIndex(self.block_picker.findData(profile.block))

    def config(self) -> LiveConfig:
        """What the stream opens with, as picked."""
        return LiveConfig(input_device=self.input_picker.currentData(),
                          output_device=self.output_picker.currentData(),
                          monitor_device=self.monitor_picker.currentData(),
                          block=self.block_picker.currentData(), latency=self.profile.name,
                          fixed_headroom_s=self.fixed_headroom_s,
                          virtual_mic=self.virtual_mic_box.isChecked(),
                          denoise=self.denoise_box.isChecked())

    def fill_devices(self) -> None:
        for picker, kind, optional in ((self.input_picker, "input", False),
                                       (self.output_picker, "output", False),
                                       (self.monitor_picker, "output", True)):
            picker.clear()
            picker.addItem("(none)" if optional else "(system default)", None)
            for index, label in device_choices(kind):
                picker.addItem(label, index)
            if not optional and picker.count() > 1:
                picker.setCurrentIndex(1)

    def show_model(self, bundle: Bundle) -> None:
        self.model_label.setText(f"{bundle.metadata['name']}: {len(bundle.emotions)} "
                                 f"emotions ({bundle.path})")
        self.model_label.setToolTip(bundle.licence)
        self.denoise_box.setChecked(bundle.denoise if self.denoise is None else self.denoise)

    def show_running(self, running: bool) -> None:
        self.start_button.setChecked(running)
        self.start_button.setText("Stop" if running else "Start")

    def _choose_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model bundle folder")
        if folder:
            self.model_chosen.emit(Path(folder))
