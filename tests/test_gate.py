"""The silence gate (a file's relative to its own speech level, the live one after the input
gain) and the limiter's readout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rtconvert.app.status_panel import limiter_text
from rtconvert.bundle import load_bundle
from rtconvert.engine.engine import Engine
from rtconvert.engine.mixer import Limiter
from rtconvert.offline.fileconvert import FileGate, convert_signal
from rtconvert.settings import Settings


@pytest.mark.parametrize("input_gain_db, converted", [(0.0, False), (24.0, True)])
def test_the_live_gate_follows_the_input_gain(speech, input_gain_db, converted):
    """Speech peaking at -60 dBFS stays below a -65 dB gate; 24 dB of input gain opens it."""
    quiet = speech * 10 ** (-60 / 20) / np.abs(speech).max()
    settings = Settings(emotion="happy", intensity=1.0, gate_db=-65.0,
                        input_gain_db=input_gain_db)
    out = convert_signal(Engine(load_bundle(), 24000, settings), quiet)
    dry = quiet * 10 ** (input_gain_db / 20)  # the engine's rate: no resampling of the dry path
    difference = np.abs(out - dry).max() / np.abs(dry).max()
    assert bool(difference > 0.1) is converted, difference


def test_the_file_gate_sits_below_the_files_speech_level():
    assert FileGate(-40.0).threshold_db(-62.0) == -102.0
    assert FileGate(-40.0).threshold_db(45.0) == 0.0  # never above full scale
    assert math.isinf(FileGate(None).threshold_db(-20.0))
    for bad in (3.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="gate"):
            FileGate(bad)


def test_the_limiter_reports_its_reduction_once_per_read():
    limiter = Limiter(24000)
    limiter.process(np.full(2400, 4.0))  # +12 dBFS
    first = limiter.read_reduction_db()
    assert first < -12 and limiter_text(first, limiter.limited_samples).startswith("1")
    limiter.process(np.zeros(24000))  # a second of silence: released by its end
    assert limiter.read_reduction_db() == pytest.approx(first, abs=3)  # deepest in that second
    limiter.process(np.zeros(240))
    assert limiter.read_reduction_db() > -0.1
    assert limiter_text(0.0, 0).startswith("not limiting")
