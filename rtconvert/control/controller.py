"""The one controller every input goes through: parses, validates, applies, reports the status.

App widgets, keys, global hotkeys, OSC, WebSocket, MIDI and ``rtconvert ctl`` all call
:meth:`Controller.command` (text or loosely typed values, as messages carry them) or
:meth:`Controller.apply` (typed values from the app's own widgets). Either refuses bad
input with a :class:`~rtconvert.errors.ControlError` naming what is wrong and what is
allowed, and changes nothing; a valid change replaces the :class:`~rtconvert.settings.Settings`
atomically on the running engine and bumps :attr:`Controller.version`, which the app and
the status subscribers poll (so a flood of messages costs them one refresh per poll, not
one per message).
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ControlError
from ..settings import NEUTRAL, Settings, choices

if TYPE_CHECKING:
    from ..live.stream import LiveStream
    from ..presets import PresetStore

#: Commands and the Settings field each sets; "mix", "preset" and "status" are handled apart.
FIELDS = {"emotion": "emotion", "intensity": "intensity", "bypass": "bypass", "gate": "gate_db",
          "input_gain": "input_gain_db", "output_gain": "output_gain_db"}
COMMANDS = (*FIELDS, "mix", "preset", "status")
#: How far ``intensity up`` / ``intensity down`` move it.
INTENSITY_STEP = 0.1
#: How long :meth:`Controller.status_json` reuses its text while the settings stay the same.
STATUS_CACHE_S = 0.05
_TRUE, _FALSE = ("on", "true", "1", "yes"), ("off", "false", "0", "no")


def _number(command: str, value: Any) -> float:
    """A finite float from a number or its text; ControlError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ControlError(f"{command}: expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ControlError(f"{command}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ControlError(f"{command}: {value!r} is not a finite number")
    return round(number, 6)  # OSC's float32 0.6 is 0.60000002


def _mixture_value(value: Any) -> Any:
    """``mix``'s argument as the emotion text: a mapping of weights becomes ``a=0.6,b=0.4``."""
    if isinstance(value, dict):
        return ",".join(f"{name}={weight}" for name, weight in value.items())
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return value


def parse_bypass(value: Any, current: bool) -> bool:
    """``on``/``off``/``toggle`` (also true/false, 1/0, yes/no; None toggles) to a bool."""
    if value is None or value == "toggle":
        return not current
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ControlError(f"bypass: expected on, off or toggle, got {value!r}")


class Controller:
    """Validated control of a converter that may or may not be streaming.

    Parameters
    ----------
    emotions : tuple of str
        The loaded model's emotions (``bundle.emotions``; "neutral" is always allowed).
    settings : Settings, optional
        The controls to start with (default: ``Settings()``).
    presets : PresetStore, optional
        Where ``preset NAME`` looks names up.
    """

    def __init__(self, emotions: tuple[str, ...], settings: Settings | None = None,
                 presets: PresetStore | None = None) -> None:
        self._lock = threading.Lock()
        self.emotions = tuple(emotions)
        self._settings = (settings or Settings()).validate(self.emotions)
        self.presets = presets
        self.live: LiveStream | None = None
        self.version = 0  # bumped by every change; pollers compare it
        self.figures: dict[str, Any] = {}  # a replica's copy of the stream's figures
        self._status_cache: tuple[int, float, str] = (-1, 0.0, "")

    @property
    def settings(self) -> Settings:
        return self._settings

    def attach(self, live: LiveStream | None) -> None:
        """Control ``live`` (None: no stream); it is given the current settings at once."""
        with self._lock:
            self.live = live
            if live is not None:
                live.engine.update(**dataclasses.asdict(self._settings))
            self.version += 1

    def set_emotions(self, emotions: tuple[str, ...]) -> None:
        """A new model: its emotions; an emotion it lacks becomes neutral."""
        with self._lock:
            self.emotions = tuple(emotions)
            try:
                self._settings.validate(self.emotions)
            except ConfigError:
                self._settings = dataclasses.replace(self._settings, emotion=NEUTRAL)
            self.version += 1

    def apply(self, **changes: Any) -> Settings:
        """Change fields of :class:`Settings`; returns the new settings.

        Raises
        ------
        ControlError
            A value is out of range, not finite, or an unknown emotion; nothing changes.
        """
        with self._lock:
            try:
                settings = dataclasses.replace(self._settings, **changes).validate(self.emotions)
            except (ConfigError, TypeError) as exc:
                raise ControlError(str(exc)) from None
            live = self.live
            if live is not None:
                live.engine.update(**dataclasses.asdict(settings))
            self._settings = settings
            self.version += 1
            return settings

    def command(self, name: str, value: Any = None) -> dict[str, Any]:
        """Run one command as a message names it; returns the status after it.

        Parameters
        ----------
        name : str
            One of :data:`COMMANDS`.
        value : str, float, bool or None
            The argument: an emotion or a mixture (``happy=0.6,surprised=0.4``; ``mix`` also
            takes ``{"happy": 0.6, "surprised": 0.4}``), a number (``gate`` also takes
            ``off``; ``intensity`` also ``up`` and ``down``), ``on``/``off``/``toggle`` for
            bypass (None toggles), a preset's name. ``status`` takes none.

        Raises
        ------
        ControlError
            An unknown command, a missing or malformed argument, a refused value.
        """
        if name == "status":
            return self.status()
        if name == "preset":
            self.load_preset(value)
        elif name == "mix":
            self.apply(emotion=self._parse("emotion", _mixture_value(value)))
        elif name in FIELDS:
            self.apply(**{FIELDS[name]: self._parse(name, value)})
        else:
            raise ControlError(f"unknown command {name!r}; use one of {', '.join(COMMANDS)}")
        return self.status()

    def _parse(self, name: str, value: Any) -> Any:
        if name == "bypass":
            return parse_bypass(value, self._settings.bypass)
        if value is None:
            raise ControlError(f"{name}: a value is missing")
        if name == "emotion":
            if not isinstance(value, str):
                raise ControlError(f"emotion: expected a name or a mixture, got {value!r}")
            return value.strip().lower()
        if name == "gate" and isinstance(value, str) and value.strip().lower() == "off":
            return -math.inf
        if name == "intensity" and value in ("up", "down"):
            step = INTENSITY_STEP if value == "up" else -INTENSITY_STEP
            return round(min(1.0, max(0.0, self._settings.intensity + step)), 6)
        return _number(name, value)

    def load_preset(self, name: Any) -> Settings:
        """Apply the saved preset ``name``; ControlError if there is none of that name."""
        if not isinstance(name, str):
            raise ControlError("preset: a name is missing")
        if self.presets is None:
            raise ControlError("this converter keeps no presets")
        settings = self.presets.presets.get(name)
        if settings is None:
            known = ", ".join(self.presets.names()) or "none saved"
            raise ControlError(f"no preset {name!r}; presets: {known}")
        return self.apply(**dataclasses.asdict(settings))

    def snapshot(self) -> tuple[int, Settings]:
        """The version and the settings, read together (another thread may change them)."""
        with self._lock:
            return self.version, self._settings

    def adopt(self, settings: Settings, emotions: tuple[str, ...], figures: dict[str, Any],
              unchanged_since: int | None) -> tuple[int, Settings] | None:
        """Take another controller's state (the control process's replica takes the converter's).

        The settings are taken only if this controller has not changed since version
        ``unchanged_since`` (None: never), so that a change of its own not yet handed on is
        not overwritten. Returns the version and settings just after taking them (read
        together: a message applied a moment later is a change after them), None if they
        were not taken.
        """
        with self._lock:
            self.emotions, self.figures = tuple(emotions), figures
            if unchanged_since != self.version:
                return None
            if settings != self._settings:
                self._settings = settings
                self.version += 1
            return self.version, self._settings

    def status_json(self) -> str:
        """:meth:`status` as JSON; the same text for up to ``STATUS_CACHE_S`` while the
        settings do not change, so that a flood of messages does not re-encode it each time."""
        version, made, text = self._status_cache
        now = time.monotonic()
        if version != self.version or now - made > STATUS_CACHE_S:
            version = self.version
            text = json.dumps(self.status())
            self._status_cache = (version, now, text)
        return text

    def status(self) -> dict[str, Any]:
        """Settings, model, stream figures: a flat dict that JSON can carry (no infinities)."""
        s, live = self._settings, self.live
        status: dict[str, Any] = {
            "emotion": s.emotion, "intensity": s.intensity, "bypass": s.bypass,
            "gate_db": None if math.isinf(s.gate_db) else s.gate_db,
            "input_gain_db": s.input_gain_db, "output_gain_db": s.output_gain_db,
            "emotions": list(choices(self.emotions)),
            "presets": self.presets.names() if self.presets is not None else [],
            "running": live is not None, "version": self.version, **self.figures}
        if live is not None:
            ls = live.status
            status.update(input_db=round(ls.input_db, 1), output_db=round(ls.output_db, 1),
                          latency_ms=round(1000 * live.latency_s, 2),
                          headroom_ms=round(ls.headroom_ms, 2), headroom_fixed=ls.headroom_fixed,
                          load=round(ls.load, 3),
                          underruns=live.underruns, overruns=ls.input_overflows,
                          error=ls.error)
        return status
