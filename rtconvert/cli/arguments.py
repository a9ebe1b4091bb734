"""Argument types and groups the ``rtconvert`` commands share: checked as they are parsed."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..dsp.resample import RATE_RANGE_HZ
from ..profiles import PROFILES


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def positive_seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def device_rate(text: str) -> int:
    rate = int(text)
    low, high = RATE_RANGE_HZ
    if not low <= rate <= high:
        raise argparse.ArgumentTypeError(f"{rate} Hz is outside the {low}..{high} Hz that "
                                         "rtconvert can resample")
    return rate


def file_gate(text: str) -> float | None:
    if text.strip().lower() == "off":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number of dB nor 'off'") from None


def block_list(text: str) -> list[int]:
    return [positive_int(part) for part in text.split(",")]


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path,
                        help="model bundle folder (default: the one shipped for the profile)")
    profiles = "; ".join(f"{name}: {1000 * p.step_s:g} ms steps, {1000 * p.analysis_lookahead_s:g}"
                         f" ms analysis lookahead, {p.block}-sample blocks"
                         for name, p in PROFILES.items())
    parser.add_argument("--latency", choices=sorted(PROFILES),
                        help=f"latency profile ({profiles}); default: the one the model was "
                             "trained for (balanced for the shipped default)")
    parser.add_argument("--denoise", type=on_off,
                        help="noise suppression in front of the analysis, 'on' or 'off' "
                             "(8.4 ms more latency); default: as the model was trained")


def on_off(text: str) -> bool:
    if text.lower() not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'on' nor 'off'")
    return text.lower() == "on"


def milliseconds(text: str) -> float:
    """A positive number of milliseconds, returned in seconds."""
    try:
        return positive_seconds(text) / 1000
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of "
                                         "milliseconds") from None


def add_headroom_argument(parser: argparse.ArgumentParser) -> None:
    """``--fixed-headroom MS`` (in seconds on the namespace, None when not given)."""
    parser.add_argument("--fixed-headroom", type=milliseconds, metavar="MS",
                        help="hold the converted audio queued ahead of the device at MS "
                             "(whole blocks), never adapting it: the latency then never moves "
                             "(set OBS's audio sync offset once); default: the profile's, "
                             "growing under load")
