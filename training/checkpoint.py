"""Atomic checkpoints holding everything a killed run needs to resume exactly."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write to a temporary file and rename: the old checkpoint survives a kill mid-write."""
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)


def best_generator(state: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The step and generator weights a run ships: the best validated ones, else the last."""
    best = state.get("best") or state
    return best["step"], best["generator"]


def rng_state(numpy_rng: np.random.Generator) -> dict[str, Any]:
    """Every random state that shapes the next steps."""
    return {"numpy": numpy_rng.bit_generator.state, "torch": torch.get_rng_state(),
            "python": random.getstate()}


def restore_rng_state(state: dict[str, Any], numpy_rng: np.random.Generator) -> None:
    numpy_rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
