"""Named presets of the converter's controls, kept as JSON in the user's config folder."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import platformdirs

from .errors import ConfigError
from .settings import Settings

#: The file presets live in unless a caller says otherwise.
DEFAULT_PATH = Path(platformdirs.user_config_dir("rtconvert")) / "presets.json"
#: The name the app saves its last controls under, to restore them at the next start.
LAST_SESSION = "(last session)"
#: The entry that holds the MIDI mapping (rtconvert.control.midi), kept beside the presets.
MIDI_MAPPING = "(midi mapping)"


class PresetStore:
    """Presets by name; every change is written through to ``path`` atomically."""

    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self.presets: dict[str, Settings] = {}
        self.midi: list | None = None  # MidiMapping.to_json(); None: the default mapping
        if self.path.is_file():
            self.presets = self._read()

    def _read(self) -> dict[str, Settings]:
        try:
            stored = json.loads(self.path.read_text())
            self.midi = stored.pop(MIDI_MAPPING, None)
            known = {f.name for f in dataclasses.fields(Settings)}
            return {name: Settings(**{k: v for k, v in values.items() if k in known})
                    for name, values in stored.items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{self.path}: not a presets file ({exc}); move it away") from exc

    def names(self) -> list[str]:
        return sorted(name for name in self.presets if name != LAST_SESSION)

    def save(self, name: str, settings: Settings) -> None:
        self.presets[name] = settings
        self._write()

    def delete(self, name: str) -> None:
        self.presets.pop(name, None)
        self._write()

    def save_midi(self, mapping: list) -> None:
        self.midi = mapping
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        data: dict = {name: dataclasses.asdict(s) for name, s in self.presets.items()}
        if self.midi is not None:
            data[MIDI_MAPPING] = self.midi
        temporary.write_text(json.dumps(data, indent=2, allow_nan=True) + "\n")
        os.replace(temporary, self.path)
