"""MIDI control: a learnable mapping from knobs, faders, pads and notes to the controller.

Inputs hand raw MIDI bytes to :meth:`MidiControl.receive`: a JACK MIDI port
(:class:`JackMidiInput`, JACK-Client) when the audio runs on JACK, or a system MIDI port
(:class:`SystemMidiInput`, mido + python-rtmidi: ALSA sequencer, CoreMIDI, Windows MM).
A control change bound to ``intensity`` sets it to value/127; a note-on or a control change
of 64 or more bound to ``emotion:NAME`` picks that emotion; bypass follows a bound control
change (>= 64 on) and toggles on a bound note. In learn mode the next control change or
note is bound to the target being learnt. The mapping is plain JSON, saved with the presets.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import AudioDeviceError, ControlError
from ..live.jack import open_client
from .controller import Controller

#: A binding's key: ("cc" or "note", MIDI channel 0-15, controller or note number).
Key = tuple[str, int, int]
#: A mapping that works before anything is learnt: the modulation wheel (CC 1) on any channel.
DEFAULT_BINDINGS: dict[Key, str] = {("cc", channel, 1): "intensity" for channel in range(16)}
#: The JACK MIDI port's client and port name.
JACK_CLIENT, JACK_PORT = "rtconvert-midi", "control"


def parse_midi(data: bytes | list[int] | tuple[int, ...]) -> tuple[Key, int] | None:
    """A control change or a note-on as ``(key, value)``; None for anything else."""
    if len(data) != 3:
        return None
    status, number, value = data
    kind = {0xB0: "cc", 0x90: "note"}.get(status & 0xF0)
    if kind is None or (kind == "note" and value == 0):  # note-on at velocity 0 is a note-off
        return None
    return (kind, status & 0x0F, number), value


@dataclass
class MidiMapping:
    """Bindings from MIDI controls to targets: ``intensity``, ``bypass``, ``emotion:NAME``."""

    bindings: dict[Key, str] = field(default_factory=lambda: dict(DEFAULT_BINDINGS))

    def bind(self, key: Key, target: str) -> None:
        """Bind ``key`` to ``target``, replacing what either was bound to."""
        self.bindings = {k: t for k, t in self.bindings.items() if t != target and k != key}
        self.bindings[key] = target

    def to_json(self) -> list[dict[str, Any]]:
        return [{"kind": k, "channel": c, "number": n, "target": t}
                for (k, c, n), t in sorted(self.bindings.items())]

    @classmethod
    def from_json(cls, items: list[dict[str, Any]] | None) -> MidiMapping:
        if items is None:
            return cls()
        try:
            return cls({(str(i["kind"]), int(i["channel"]), int(i["number"])): str(i["target"])
                        for i in items})
        except (KeyError, TypeError, ValueError) as exc:
            raise ControlError(f"a MIDI mapping entry is malformed ({exc})") from None

    def describe(self, key: Key) -> str:
        kind, channel, number = key
        return f"{'CC' if kind == 'cc' else 'note'} {number} (channel {channel + 1})"


class MidiControl:
    """Turns MIDI messages into controller commands through a mapping, with a learn mode.

    Parameters
    ----------
    controller : Controller
        Where the resulting changes go (and get validated).
    mapping : MidiMapping
        What each control does.
    """

    def __init__(self, controller: Controller, mapping: MidiMapping | None = None) -> None:
        self.controller = controller
        self.mapping = mapping or MidiMapping()
        self.learning: str | None = None  # the target the next control is bound to
        self.on_learnt: Callable[[Key, str], None] | None = None  # called from the MIDI thread
        self.received = 0
        self.refused = 0

    def learn(self, target: str | None) -> None:
        """Bind the next control change or note to ``target`` (None: stop learning)."""
        self.learning = target

    def receive(self, data: bytes | list[int] | tuple[int, ...]) -> None:
        """One MIDI message from any input thread."""
        parsed = parse_midi(data)
        if parsed is None:
            return
        self.received += 1
        key, value = parsed
        target = self.learning
        if target is not None:
            self.learning = None
            self.mapping.bind(key, target)
            if self.on_learnt is not None:
                self.on_learnt(key, target)
            return
        target = self.mapping.bindings.get(key)
        if target is None:
            return
        try:
            self._apply(target, key[0], value)
        except ControlError:  # e.g. a mapping to an emotion this model lacks
            self.refused += 1

    def _apply(self, target: str, kind: str, value: int) -> None:
        pressed = kind == "note" or value >= 64
        if target == "intensity":
            if kind == "cc":
                self.controller.apply(intensity=round(value / 127, 4))
        elif target == "bypass":
            self.controller.command("bypass", "toggle" if kind == "note" else pressed)
        elif target.startswith("emotion:"):
            if pressed:
                self.controller.command("emotion", target[len("emotion:"):])
        else:
            raise ControlError(f"unknown MIDI target {target!r}")


class JackMidiInput:
    """A JACK MIDI input port (``rtconvert-midi:control``) feeding ``receive``.

    JACK's process callback only queues the bytes; a thread of ours hands them on.

    Raises
    ------
    AudioDeviceError
        No JACK server runs, or JACK-Client/libjack is missing.
    """

    def __init__(self, receive: Callable[[bytes], None], name: str = JACK_CLIENT) -> None:
        self.client = open_client(name)
        self.port = self.client.midi_inports.register(JACK_PORT)
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._receive = receive
        self.client.set_process_callback(self._process)
        self._thread = threading.Thread(target=self._dispatch, name="rtconvert-jack-midi",
                                        daemon=True)
        self._thread.start()
        self.client.activate()

    @property
    def port_name(self) -> str:
        return self.port.name

    def _process(self, frames: int) -> None:
        for _offset, data in self.port.incoming_midi_events():
            self._queue.put(bytes(data))

    def _dispatch(self) -> None:
        while (data := self._queue.get()) is not None:
            self._receive(data)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()
        self._queue.put(None)
        self._thread.join()


def system_midi_inputs() -> tuple[list[str], str | None]:
    """System MIDI input port names (mido + rtmidi), and why there are none when so."""
    try:
        import mido
        return mido.get_input_names(), None
    except (ImportError, OSError) as exc:  # rtmidi's SystemError (an OSError): no sequencer
        return [], f"system MIDI is unavailable here ({str(exc).strip() or type(exc).__name__})"


class SystemMidiInput:
    """A system MIDI input (by part of its name) feeding ``receive`` on rtmidi's thread.

    Raises
    ------
    AudioDeviceError
        No such port, or no system MIDI here (e.g. no ALSA sequencer).
    """

    def __init__(self, name: str, receive: Callable[[bytes], None]) -> None:
        names, why = system_midi_inputs()
        matches = [n for n in names if name.lower() in n.lower()]
        if not matches:
            raise AudioDeviceError(why or f"no MIDI input {name!r}; inputs: "
                                          f"{', '.join(names) or 'none'}")
        import mido
        self.port_name = matches[0]
        self._port = mido.open_input(self.port_name,
                                     callback=lambda message: receive(bytes(message.bytes())))

    def close(self) -> None:
        self._port.close()


def open_midi_input(name: str, receive: Callable[[bytes], None]) -> JackMidiInput | SystemMidiInput:
    """``jack`` for a JACK MIDI port, else a system MIDI input matching ``name``."""
    if name.lower() == "jack":
        return JackMidiInput(receive)
    return SystemMidiInput(name, receive)
