"""The speaker stage: running statistics, the speaker's levels, inputs relative to them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rtconvert.bundle import load_bundle
from rtconvert.dsp.features import WorldFeatures
from rtconvert.engine.speaker import RunningStats, SpeakerTracker
from rtconvert.modelio import Layout, SpeakerLevels, model_inputs


def test_running_statistics_start_at_the_prior_and_converge():
    stats = RunningStats(np.log(200.0), 0.2)
    assert stats.mean == pytest.approx(np.log(200.0)) and stats.std == pytest.approx(0.2)
    voice = np.log(110.0) + 0.1 * np.random.default_rng(0).standard_normal(3000)
    stats.update(voice[:200])  # one second of voiced speech
    assert abs(stats.mean - np.log(110.0)) < 0.1 * abs(np.log(200.0) - np.log(110.0))
    stats.update(voice[200:])  # the spread forgets the move from the prior more slowly
    assert stats.std == pytest.approx(0.1, rel=0.15)
    frozen = stats.mean
    stats.update(np.zeros(0))  # silence: nothing voiced
    assert stats.mean == frozen



def test_a_vector_statistic_follows_each_entry():
    stats = RunningStats(np.zeros(3), np.ones(3))
    target = np.array([1.0, -2.0, 0.5])
    stats.update(target + 0.01 * np.random.default_rng(1).standard_normal((3000, 3)))
    assert stats.mean == pytest.approx(target, abs=0.01)
    stats.prime(np.array([3.0, 3.0, 3.0]), np.ones(3))
    assert (stats.mean == 3.0).all() and stats.count == stats.time_constant_frames


def test_the_tracker_learns_from_voiced_frames_only():
    n_mcep = 4
    tracker = SpeakerTracker((np.log(150.0), 0.2), -10.0, np.zeros(n_mcep))
    rng = np.random.default_rng(0)
    voice = np.array([-8.0, 1.0, -0.5, 0.2])
    f0 = np.where(np.arange(4000) % 2 == 0, 110.0 * 2 ** (0.1 * rng.standard_normal(4000)), 0.0)
    mcep = np.where((f0 > 0)[:, None], voice, -30.0)  # unvoiced frames: room noise
    for start in range(0, 4000, 4):  # 20 ms steps
        tracker.observe(WorldFeatures(f0[start:start + 4], mcep[start:start + 4],
                                      np.zeros((4, 1))))
    levels = tracker.levels()
    assert levels.lf0_mean == pytest.approx(np.log(110.0), abs=0.02)
    assert levels.c0_mean == pytest.approx(-8.0, abs=0.01)
    assert levels.mcep_mean == pytest.approx(voice, abs=0.01)
    tracker.reset()
    assert tracker.levels().c0_mean == -10.0 and not tracker.levels().mcep_mean.any()


def test_inputs_relative_to_the_speakers_spectrum_cancel_the_microphones_colour():
    """A constant spectral tilt (a mic, a room, a voice) leaves the speaker-relative inputs as
    they were; the corpus-relative inputs move with it."""
    bundle = load_bundle()
    norm, config = bundle.normalization, bundle.features
    layout = Layout(config.n_mcep, config.n_bap)
    rng = np.random.default_rng(2)
    mcep = norm.mcep_mean + 0.5 * rng.standard_normal((50, config.n_mcep))
    bap, f0 = np.zeros((50, config.n_bap)), np.full(50, 120.0)
    tilt = np.zeros(config.n_mcep)
    tilt[1:4] = [0.8, -0.4, 0.3]
    for speaker_mcep in (False, True):
        relative = replace(norm, speaker_mcep=speaker_mcep)
        inputs = [model_inputs(np.log(f0), m, bap, relative, SpeakerLevels(
            np.log(120.0), 0.1, -10.0, m[f0 > 0].mean(axis=0))) for m in (mcep, mcep + tilt)]
        moved = np.abs(inputs[1][layout.mcep] - inputs[0][layout.mcep]).max()
        assert (moved < 1e-5) if speaker_mcep else (moved > 0.1)
