"""The app's window: the panels wired around a LiveStream, one change path through a Controller.

The UI thread only sets controls (``Engine.update`` is thread-safe) and reads the
stream's status on a timer; all audio work happens on PortAudio's and the engine's
threads. Errors from those threads arrive through a Qt signal and are shown in a
banner, never a modal dialog.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import platformdirs
from PyQt6.QtCore import QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from ..bundle import Bundle, default_bundle_path, load_bundle
from ..control import Controller, ControlOptions
from ..errors import RtconvertError
from ..live.devices import RESTART_ADVICE, refresh_devices
from ..live.stream import LiveStream
from ..presets import LAST_SESSION, PresetStore
from ..profiles import PROFILES
from ..settings import Settings, choices, default_emotion
from .audio_panel import DevicePanel
from .controls_panel import SettingsPanel
from .emotion_panel import EmotionPanel
from .f0_panel import SeePanel
from .remote_panel import ControlPanel
from .status_panel import StatusPanel


def _shipped_profile(bundle: Bundle) -> str | None:
    """The latency profile whose shipped bundle ``bundle`` is; None for a bundle of one's own."""
    return next((name for name in PROFILES
                 if default_bundle_path(name).resolve() == bundle.path.resolve()), None)


class MainWindow(QMainWindow):
    """The rtconvert window.

    Parameters
    ----------
    bundle : Bundle
        The model to start with (the shipped one by default). A shipped bundle follows
        the latency profile picked (as ``rtconvert run --latency`` without ``--model``);
        another runs with whichever profile is picked.
    presets : PresetStore
        Where presets and the last session's controls are kept.
    control : ControlOptions, optional
        Where the OSC/WebSocket control server listens; None runs none.
    latency : str, optional
        The latency profile to start with; by default the one ``bundle`` was trained for.
    fixed_headroom_s : float, optional
        Hold the stream's headroom there (``--fixed-headroom``) instead of adapting it.
    denoise : bool, optional
        Noise suppression on or off (``--denoise``); default: as each model was trained.
    """

    stream_stopped = pyqtSignal(str)  # emitted from an audio thread, handled on the UI thread

    def __init__(self, bundle: Bundle, presets: PresetStore,
                 control: ControlOptions | None = None, latency: str | None = None,
                 fixed_headroom_s: float | None = None, denoise: bool | None = None) -> None:
        super().__init__()
        self.setWindowTitle("rtconvert: emotional voice conversion")
        self.bundle, self.presets = bundle, presets
        self._follows_profile = _shipped_profile(bundle) is not None
        last = presets.presets.get(LAST_SESSION)
        # Every change, from the widgets here or from outside, goes through the controller.
        fresh = Settings(emotion=default_emotion(bundle.emotions))  # as `rtconvert run`
        self.controller = Controller(bundle.emotions, last if self._valid(last) else fresh,
                                     presets)
        self._shown_version = -1
        self.live: LiveStream | None = None
        self.recording_folder = Path(platformdirs.user_music_dir()) / "rtconvert"

        self.device_panel = DevicePanel(PROFILES[latency or bundle.latency_profile],
                                        fixed_headroom_s, denoise)
        self.device_panel.profile_chosen.connect(self.set_profile)
        self.device_panel.model_chosen.connect(self.load_model)
        self.device_panel.refresh_button.clicked.connect(self.refresh_devices)
        self.device_panel.start_button.toggled.connect(self._toggle_stream)
        self.device_panel.show_model(bundle)
        self.emotion_panel = EmotionPanel(self.emotions)
        self.emotion_panel.changed.connect(lambda changes: self.apply(**changes))
        self.settings_panel = SettingsPanel(presets)
        self.settings_panel.changed.connect(lambda changes: self.apply(**changes))
        self.settings_panel.preset_chosen.connect(self._load_preset)
        self.settings_panel.save_asked.connect(self.save_preset)
        self.settings_panel.record_button.toggled.connect(self._toggle_recording)
        self.status_panel = StatusPanel()
        self.status_panel.measure_button.clicked.connect(self.measure_latency)
        self.status_panel.measured.connect(self._measured)
        self._resume_after_measuring = False
        self.see_panel = SeePanel()
        self.see_panel.hear_button.clicked.connect(self.hear_it)
        self.control_panel = ControlPanel(self.controller, presets, control)
        # The widgets that tests and scripts drive.
        self.input_picker = self.device_panel.input_picker
        self.output_picker = self.device_panel.output_picker
        self.start_button = self.device_panel.start_button
        self.intensity = self.settings_panel.intensity
        self.intensity_label = self.settings_panel.intensity_label
        self.record_button = self.settings_panel.record_button

        central = QWidget()
        outer = QVBoxLayout(central)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fde2e1; color: #8a1c14; padding: 6px;")
        self.banner.hide()
        outer.addWidget(self.banner)
        columns = QHBoxLayout()
        outer.addLayout(columns)
        left, right = QVBoxLayout(), QVBoxLayout()
        columns.addLayout(left)
        columns.addLayout(right)
        for panel in (self.device_panel, self.emotion_panel, self.settings_panel,
                      self.status_panel):
            left.addWidget(panel)
        right.addWidget(self.see_panel, 1)
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

    @property
    def emotions(self) -> tuple[str, ...]:
        """The emotions of the loaded model, in the order of their buttons and keys."""
        return choices(self.bundle.emotions)

    def _valid(self, settings: Settings | None) -> bool:
        try:
            return settings is not None and settings.validate(self.bundle.emotions) is not None
        except RtconvertError:
            return False

    # -- model, profile and the stream ---------------------------------------------------

    def refresh_devices(self) -> None:
        if self.live is not None:
            self.show_error("stop the stream before rescanning devices")
            return
        try:
            refresh_devices()
        except RtconvertError as exc:
            self.show_error(str(exc))
            return
        self.device_panel.fill_devices()

    def load_model(self, path: Path) -> None:
        """Convert with the bundle at ``path`` from now on, with the profile it was trained for."""
        self._switch(path, None)

    def set_profile(self, name: str) -> None:
        """Run with latency profile ``name``: its shipped bundle unless a model was chosen."""
        self._switch(default_bundle_path(name) if self._follows_profile else None, name)

    def _switch(self, path: Path | None, latency: str | None) -> None:
        """Load the bundle at ``path`` (None: keep the loaded one), pick the latency profile
        (None: the bundle's own) and restart a running stream with them."""
        try:
            bundle = load_bundle(path) if path is not None else self.bundle
        except RtconvertError as exc:
            self.show_error(str(exc))
            return
        running = self.live is not None
        self.stop_stream()
        if bundle is not self.bundle:
            self.bundle = bundle
            self._follows_profile = latency is not None  # a shipped bundle, or one chosen
            self.controller.set_emotions(bundle.emotions)  # an emotion it lacks becomes neutral
            self.control_panel.fill_learn_targets()
            self.emotion_panel.fill(self.emotions)
            self.device_panel.show_model(bundle)
            self._show_settings()
        self.device_panel.show_profile(PROFILES[latency or bundle.latency_profile])
        if running:
            self.start_stream()

    def _toggle_stream(self, on: bool) -> None:
        if on and self.live is None:
            self.start_stream()
        elif not on and self.live is not None:
            self.stop_stream()

    def start_stream(self) -> None:
        try:
            live = LiveStream(self.bundle, self.device_panel.config(), self.settings,
                              on_stop=self.stream_stopped.emit)
            live.start()
        except RtconvertError as exc:
            self.show_error(str(exc))
            self.start_button.setChecked(False)
            return
        self.live = live
        self.controller.attach(live)
        self.banner.hide()
        self.device_panel.show_running(True)

    def stop_stream(self) -> None:
        live, self.live = self.live, None
        self.controller.attach(None)
        if live is not None:
            live.stop()
            if live.recording_error:
                self.show_error(live.recording_error)
        self.record_button.setChecked(False)
        self.device_panel.show_running(False)

    def _on_stream_stopped(self, message: str) -> None:
        self.stop_stream()
        self.show_error(f"{message}; {RESTART_ADVICE}.")

    def show_error(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.show()

    def _toggle_recording(self, on: bool) -> None:
        error = self.settings_panel.record(self.live, self.recording_folder, on)
        if error:
            self.show_error(error)

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
        self.emotion_panel.show_settings(self.settings)
        self.settings_panel.show_settings(self.settings)

    def save_preset(self, name: str) -> None:
        self.settings_panel.save_preset(name, self.settings)

    def _load_preset(self, settings: Settings) -> None:
        if self._valid(settings):
            self.apply(**dataclasses.asdict(settings))

    # -- latency measurement and readouts ------------------------------------------------

    def measure_latency(self) -> None:
        """Measure the round trip on JACK; the live stream pauses meanwhile and resumes after."""
        self._resume_after_measuring = self.live is not None
        self.stop_stream()
        config = self.device_panel.config()
        self.status_panel.measure(config.block, self.bundle.path, config.latency)

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
