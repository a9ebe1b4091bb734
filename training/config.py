"""Training configuration: YAML files plus ``--set key=value`` overrides, checked against a schema.

The schema is ``conf/default.yaml``: a config must hold exactly its keys, each with a
value of the same kind as the default's. A typo is refused before any work, naming the
closest valid key (``train.stpes``: did you mean ``train.steps``?), and so is a data value
the corpus or the runtime does not know (an emotion, a corpus intensity, a latency profile).
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml

from rtconvert.errors import ConfigError
from rtconvert.profiles import PROFILES
from rtconvert.settings import NEUTRAL

from .corpus import EMOTIONS, INTENSITY_NAMES
from .extract import LEVELS

#: The configuration every other one is checked against (keys and kinds of values).
SCHEMA_PATH = Path(__file__).resolve().parent / "conf" / "default.yaml"
#: Keys that name a base file instead of a setting.
INCLUDE_KEY = "include"
#: Dictionaries whose keys are names chosen by the user (corpus intensities), not settings.
_FREE_KEYS = {"data.intensity_scale"}


#: Keys added to the schema since runs were first saved, with the value that a run saved
#: before them was trained with: a resumed run keeps its recipe.
SAVED_BEFORE = {"data": {"level": "take", "denoise": False}}


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                saved_run: bool = False) -> dict[str, Any]:
    """Read a YAML config, apply dotted overrides such as ``train.steps=100``, and check it.

    A file may name a base with ``include: other.yaml`` (relative to itself); its own
    keys then override the base's, section by section. A run's saved config
    (``saved_run``) gets the keys added since it was saved (``SAVED_BEFORE``).

    Raises
    ------
    ConfigError
        If a file is missing or not YAML, an override is not ``key=value``, a key is
        unknown (naming the closest valid one) or missing, a value is of the wrong kind,
        or ``data.root`` is not a folder.
    """
    config = _read(Path(path))
    if saved_run:
        config = merge(SAVED_BEFORE, config)
    for override in overrides:
        _apply_override(config, override)
    check_config(config, f"config {path}")
    return config


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config {path}: no such file")
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"config {path}: expected sections of keys, found "
                          f"{type(config).__name__}")
    if INCLUDE_KEY in config:
        base = _read(path.parent / str(config.pop(INCLUDE_KEY)))
        config = merge(base, config)
    return config


def _apply_override(config: dict[str, Any], override: str) -> None:
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected key=value, e.g. train.steps=100")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {override!r}: the value is not valid YAML ({exc})") from exc
    node = config
    *parents, leaf = key.strip().split(".")
    for depth, part in enumerate(parents):
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {override!r}: {'.'.join(parents[:depth + 1])} is a value, "
                              "not a section")
    node[leaf] = value


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; values in ``update`` win."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def schema() -> dict[str, Any]:
    """The default configuration, which every config is checked against."""
    return yaml.safe_load(SCHEMA_PATH.read_text())


def check_config(config: dict[str, Any], name: str = "config",
                 reference: dict[str, Any] | None = None) -> None:
    """Check ``config`` against ``reference`` (default: :func:`schema`); see :func:`load_config`."""
    training = reference is None  # a training config, not some other section tree
    reference = schema() if reference is None else reference
    _check_section(config, reference, "", name, reference)
    data = config.get("data", {})
    root = data.get("root")
    if isinstance(root, str) and not Path(root).is_dir():
        raise ConfigError(f"{name}: data.root {root} is not a folder (the dataset root, "
                          "holding RAVDESS/ or ravdess24k/)")
    if training:
        _check_data_values(data, name)
        mix = config["train"]["mix_fraction"]
        if not 0.0 <= mix <= 1.0:
            raise ConfigError(f"{name}: train.mix_fraction is {mix!r}, expected 0 to 1")
        if mix > 0 and config["loss"]["lambda_adversarial"] > 0:
            raise ConfigError(f"{name}: train.mix_fraction needs loss.lambda_adversarial 0 "
                              "(the discriminator judges one emotion at a time)")


def _check_data_values(data: dict[str, Any], name: str) -> None:
    """The data section's values: names the corpus and the runtime know, numbers in range."""
    emotions = data["emotions"]
    known = [e for e in EMOTIONS if e != NEUTRAL]
    unknown = [e for e in emotions if e not in known]
    if not emotions or unknown or len(set(emotions)) != len(emotions):
        problem = (f"names {unknown}" if unknown else "repeats a name" if emotions
                   else "is empty")
        raise ConfigError(f"{name}: data.emotions {problem}; choose from {', '.join(known)} "
                          "(neutral is the source, never a target)")
    scale = data["intensity_scale"]
    names = list(INTENSITY_NAMES.values())
    for intensity, value in scale.items():
        if intensity not in names:
            raise ConfigError(f"{name}: data.intensity_scale names {intensity!r}; the corpus "
                              f"intensities are {', '.join(names)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise ConfigError(f"{name}: data.intensity_scale.{intensity} is {value!r}, "
                              "expected a number in (0, 1]")
    if not scale:
        raise ConfigError(f"{name}: data.intensity_scale is empty; e.g. "
                          "{normal: 0.5, strong: 1.0}")
    if data["profile"] not in PROFILES:
        raise ConfigError(f"{name}: data.profile is {data['profile']!r}; choose from "
                          f"{', '.join(PROFILES)}")
    if not data["speeds"] or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                 or v <= 0 for v in data["speeds"]):
        raise ConfigError(f"{name}: data.speeds is {data['speeds']!r}, expected positive "
                          "numbers (1.0: the recordings as they are)")
    if any(isinstance(v, bool) or not isinstance(v, int) for v in data["rooms"]):
        raise ConfigError(f"{name}: data.rooms is {data['rooms']!r}, expected integer seeds "
                          "(e.g. [1, 2]: two room-augmented copies of the training takes)")
    if data["level"] not in LEVELS:
        raise ConfigError(f"{name}: data.level is {data['level']!r}; choose from "
                          f"{', '.join(LEVELS)}")
    shared = set(data["valid_speakers"]) & set(data["dev_speakers"])
    if shared:
        raise ConfigError(f"{name}: {', '.join(sorted(shared))} both in data.valid_speakers and "
                          "data.dev_speakers; a speaker is held out for one purpose")


def _check_section(values: dict[str, Any], reference: dict[str, Any], prefix: str, name: str,
                   full: dict[str, Any]) -> None:
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if key not in reference:
            raise ConfigError(f"{name}: unknown key {dotted!r}; {_suggestion(dotted, full)}")
        expected = reference[key]
        if isinstance(expected, dict) and dotted not in _FREE_KEYS:
            if not isinstance(value, dict):
                raise ConfigError(f"{name}: {dotted} is {value!r}, expected a section of keys "
                                  f"({', '.join(expected)})")
            _check_section(value, expected, f"{dotted}.", name, full)
        elif not _same_kind(value, expected):
            raise ConfigError(f"{name}: {dotted} is {value!r} ({type(value).__name__}), expected "
                              f"{_kind(expected)} like the default {expected!r}")
    missing = [f"{prefix}{key}" for key in reference if key not in values]
    if missing:
        raise ConfigError(f"{name}: {', '.join(missing)} missing (see {SCHEMA_PATH.name})")


def _same_kind(value: Any, default: Any) -> bool:
    """Whether ``value`` may replace ``default``: any value where the default is null; an
    integer where it is an integer; any number where it is a float; else the same type."""
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _kind(default: Any) -> str:
    kinds = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a section"}
    return kinds.get(type(default), type(default).__name__)


def _all_keys(reference: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in reference.items():
        keys.append(f"{prefix}{key}")
        if isinstance(value, dict) and f"{prefix}{key}" not in _FREE_KEYS:
            keys += _all_keys(value, f"{prefix}{key}.")
    return keys


def _suggestion(dotted: str, reference: dict[str, Any]) -> str:
    """'did you mean ...?' naming the closest valid key, else the valid keys of that section."""
    *parents, leaf = dotted.split(".")
    section = reference
    for part in parents:
        section = section.get(part, {}) if isinstance(section, dict) else {}
    candidates = _all_keys(reference)
    same_leaf = [key for key in candidates if key.rsplit(".", 1)[-1] == leaf]
    close = difflib.get_close_matches(dotted, candidates, n=1, cutoff=0.6) or same_leaf[:1]
    if close:
        return f"did you mean {close[0]!r}?"
    where = ".".join(parents) or "the top level"
    return f"valid keys in {where}: {', '.join(section) if isinstance(section, dict) else '-'}"
