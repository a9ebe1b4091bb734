"""Training configuration: YAML files (keys = constructor keywords) plus ``--set key=value`` overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a YAML config and apply dotted overrides such as ``train.steps=100``.

    A file may name a base with ``include: other.yaml`` (relative to itself); its own
    keys then override the base's, section by section.
    """
    path = Path(path)
    config = yaml.safe_load(path.read_text()) or {}
    if "include" in config:
        base = load_config(path.parent / config.pop("include"))
        config = merge(base, config)
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            raise ValueError(f"override {override!r} is not of the form section.key=value")
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return config


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; values in ``update`` win."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
