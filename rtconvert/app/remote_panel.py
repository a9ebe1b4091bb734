"""The app's remote-control panel: the OSC/WebSocket server, global hotkeys, MIDI and learning."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
)

from ..control import Controller, ControlOptions, ControlServers
from ..control.hotkeys import (
    MODIFIERS,
    GlobalHotkeys,
    controller_actions,
    unsupported_reason,
)
from ..control.midi import (
    JackMidiInput,
    MidiControl,
    MidiMapping,
    SystemMidiInput,
    open_midi_input,
    system_midi_inputs,
)
from ..errors import ControlError, RtconvertError
from ..presets import PresetStore
from ..settings import choices

JACK_MIDI = "JACK MIDI (rtconvert-midi:control)"


class ControlPanel(QGroupBox):
    """Shows where the control server listens; global hotkeys and MIDI, with a learn mode.

    Parameters
    ----------
    controller : Controller
        What every control here drives.
    presets : PresetStore
        Where the MIDI mapping is saved.
    options : ControlOptions, optional
        Where to run the control server; None runs none (tests, a second window).
    """

    learnt = pyqtSignal(str)  # emitted from the MIDI thread, shown on the UI thread

    def __init__(self, controller: Controller, presets: PresetStore,
                 options: ControlOptions | None) -> None:
        super().__init__("Remote control")
        self.controller, self.presets = controller, presets
        form = QFormLayout(self)
        self.servers: ControlServers | None = None
        self.server_label = QLabel()
        self.server_label.setWordWrap(True)
        self.server_label.setText(self._start_servers(options))
        form.addRow("OSC / WebSocket", self.server_label)
        self.hotkeys: GlobalHotkeys | None = None
        self.hotkeys_box = QCheckBox(f"{MODIFIERS}+1–9 emotions, +0 bypass, +−/+= intensity")
        self.hotkeys_box.toggled.connect(self._toggle_hotkeys)
        self.hotkeys_label = QLabel()
        self.hotkeys_label.setWordWrap(True)
        form.addRow("Global hotkeys", self.hotkeys_box)
        form.addRow(self.hotkeys_label)
        reason = unsupported_reason()
        self.hotkeys_box.setEnabled(reason is None)
        self.hotkeys_label.setText(reason or "")
        self.hotkeys_box.setChecked(reason is None)
        self.midi = MidiControl(controller, MidiMapping.from_json(presets.midi))
        self.midi.on_learnt = lambda key, target: self.learnt.emit(
            f"{self.midi.mapping.describe(key)} → {target}")
        self.learnt.connect(self._learnt)
        self.midi_input: JackMidiInput | SystemMidiInput | None = None
        self._midi_rows(form)

    def _start_servers(self, options: ControlOptions | None) -> str:
        if options is None or not options.enabled:
            return "off"
        try:
            self.servers = ControlServers(self.controller, options)
        except ControlError as exc:
            return f"not running: {exc}"
        self.server_label.setToolTip("e.g. `rtconvert ctl emotion angry`; see docs/control.md")
        return f"{options.host}:{self.servers.port} (OSC over UDP, WebSocket over TCP)"

    def _toggle_hotkeys(self, on: bool) -> None:
        if self.hotkeys is not None:
            self.hotkeys.stop()
            self.hotkeys = None
        if on:
            try:
                self.hotkeys = GlobalHotkeys(controller_actions(self.controller))
            except ControlError as exc:
                self.hotkeys_label.setText(str(exc))
                return
            taken = self.hotkeys.taken
            self.hotkeys_label.setText(f"taken by another program: {', '.join(taken)}"
                                       if taken else "")

    def _midi_rows(self, form: QFormLayout) -> None:
        self.midi_picker = QComboBox()
        self.refresh_midi()
        self.midi_picker.activated.connect(lambda _: self.open_midi(self.midi_picker.currentData()))
        form.addRow("MIDI input", self.midi_picker)
        self.learn_picker = QComboBox()
        self.fill_learn_targets()
        self.learn_button = QPushButton("Learn")
        self.learn_button.setCheckable(True)
        self.learn_button.toggled.connect(self._learn)
        row = QHBoxLayout()
        row.addWidget(self.learn_picker, 1)
        row.addWidget(self.learn_button)
        form.addRow("MIDI learn", row)
        self.midi_label = QLabel(self._mapping_text())
        self.midi_label.setWordWrap(True)
        form.addRow(self.midi_label)

    def refresh_midi(self) -> None:
        self.midi_picker.clear()
        self.midi_picker.addItem("(none)", None)
        self.midi_picker.addItem(JACK_MIDI, "jack")
        names, why = system_midi_inputs()
        for name in names:
            self.midi_picker.addItem(name, name)
        self.midi_picker.setToolTip(why or "")

    def fill_learn_targets(self) -> None:
        """Intensity, bypass and the loaded model's emotions."""
        self.learn_picker.clear()
        for target in ("intensity", "bypass",
                       *(f"emotion:{e}" for e in choices(self.controller.emotions))):
            self.learn_picker.addItem(target.replace("emotion:", "emotion "), target)

    def open_midi(self, name: str | None) -> str:
        """Listen to MIDI input ``name`` ("jack", part of a system port's name, None: none)."""
        if self.midi_input is not None:
            self.midi_input.close()
            self.midi_input = None
        if name is None:
            message = ""
        else:
            try:
                self.midi_input = open_midi_input(name, self.midi.receive)
                message = f"listening on {self.midi_input.port_name}"
            except RtconvertError as exc:
                message = str(exc)
                self.midi_picker.setCurrentIndex(0)
        self.midi_label.setText(f"{message}\n{self._mapping_text()}".strip())
        return message

    def _learn(self, on: bool) -> None:
        self.midi.learn(self.learn_picker.currentData() if on else None)
        self.learn_button.setText("Move a knob or hit a pad…" if on else "Learn")

    def _learnt(self, text: str) -> None:
        self.presets.save_midi(self.midi.mapping.to_json())
        self.learn_button.setChecked(False)
        self.midi_label.setText(f"learnt {text}\n{self._mapping_text()}")

    def _mapping_text(self) -> str:
        bindings = self.midi.mapping.bindings
        targets: dict[str, list[str]] = {}
        for key, target in bindings.items():
            targets.setdefault(target, []).append(self.midi.mapping.describe(key))
        return "; ".join(f"{t}: {', '.join(keys) if len(keys) < 4 else keys[0].split(' (')[0]}"
                         for t, keys in targets.items())

    def close_all(self) -> None:
        """Stop the servers, hotkeys and MIDI input (the window is closing)."""
        if self.servers is not None:
            self.servers.close()
            self.servers = None
        self._toggle_hotkeys(False)
        self.open_midi(None)
