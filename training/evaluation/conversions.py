"""How the evaluation turns a take into audio: the streaming engine, offline WORLD copy-synthesis.

Every conversion the evaluation scores runs through :class:`rtconvert.engine.engine.Engine`,
the live code path, at the corpus rate with the silence gate off.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from rtconvert.bundle import Bundle, load_bundle
from rtconvert.dsp.features import analyze, synthesize
from rtconvert.engine.engine import Engine
from rtconvert.engine.generator import IdentityConverter
from rtconvert.offline.fileconvert import convert_signal
from rtconvert.settings import Settings

FloatArray = npt.NDArray[np.float64]

#: The emotion a resynthesis is run with: at intensity 0 the choice changes nothing.
RESYNTHESIS_EMOTION = "neutral"


@lru_cache(maxsize=4)
def cached_bundle(path: str) -> Bundle:
    """A bundle loaded once per process (worker processes get paths, not bundles)."""
    return load_bundle(path)


def convert(samples: FloatArray, bundle: Bundle, emotion: str, intensity: float,
            f0_only: bool = False) -> FloatArray:
    """One take through a fresh streaming engine, aligned with the input.

    Parameters
    ----------
    samples : ndarray, shape (n_samples,)
        Mono speech at ``bundle.features.sample_rate``.
    bundle : Bundle
        The model and its prosody statistics.
    emotion : str
        Target emotion, or ``"neutral"``.
    intensity : float
        0 (none) to 1 (the corpus's strong takes).
    f0_only : bool
        Replace the generator by the identity, so that only the prosody statistics move
        (F0 and energy); the spectral shape stays the input's.

    Returns
    -------
    ndarray, shape (n_samples,)
    """
    settings = Settings(emotion=emotion, intensity=intensity, gate_db=-math.inf)
    # Keywords, so that a change of IdentityConverter's signature fails loudly here.
    converter = (IdentityConverter(n_mcep=bundle.features.n_mcep, n_bap=bundle.features.n_bap,
                                   lookahead_frames=bundle.lookahead_frames)
                 if f0_only else None)
    engine = Engine(bundle, bundle.features.sample_rate, settings, converter=converter)
    return convert_signal(engine, np.asarray(samples, dtype=np.float64))


def resynthesize(samples: FloatArray, bundle: Bundle) -> FloatArray:
    """WORLD resynthesis by the streaming engine at intensity 0, shape (n_samples,)."""
    return convert(samples, bundle, RESYNTHESIS_EMOTION, 0.0)


def offline_copy_synthesis(samples: FloatArray, bundle: Bundle) -> FloatArray:
    """Offline WORLD analysis and synthesis (pyworld, DIO), shape (n_samples,)."""
    config = bundle.features
    out = synthesize(analyze(samples, config), config)
    return np.pad(out, (0, max(0, len(samples) - len(out))))[:len(samples)]


def probe_signal(sample_rate: int, duration_s: float = 0.6) -> FloatArray:
    """A buzzy vowel with vibrato and a noisy onset: a fixed input that exercises the vocoder."""
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(140.0 + 15.0 * np.sin(2 * np.pi * 5.0 * t)) / sample_rate
    vowel = 0.1 * sum(np.sin(k * phase) / k for k in range(1, 25))
    noise = np.random.default_rng(0).standard_normal(len(t)) * 0.02 * (t < 0.1)
    return vowel + noise


def vocoder_fingerprint(bundle: Bundle) -> str:
    """Short hash of the engine's resynthesis of :func:`probe_signal`.

    Anything trained on the engine's resynthesis (the emotion judge) is stale once this
    changes: another feature configuration, or another engine implementation.
    """
    out = resynthesize(probe_signal(bundle.features.sample_rate), bundle)
    return hashlib.sha1(np.round(out, 6).astype(np.float32).tobytes()).hexdigest()[:12]
