"""WORLD analysis and synthesis, pure functions: the features training and the live engine both see.

A frame ``k`` is centred at ``k * frame_period_ms``. Analysis gives, per frame, F0 in Hz
(0 where unvoiced), mel-cepstra coded from the CheapTrick envelope, and band
aperiodicities coded from D4C. Arrays cross into pyworld as C-contiguous float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .._world import pyworld
from ..config import FeatureConfig

FloatArray = npt.NDArray[np.float64]

#: Shortest signal the analysis accepts, in seconds: below it there is no usable frame.
MIN_DURATION_S = 0.1


class FeatureError(ValueError):
    """A signal cannot be analysed (too short, not 1-D); the caller adds the file name."""


@dataclass
class WorldFeatures:
    """WORLD parameters of a signal, one row per frame."""

    f0_hz: FloatArray  # (n_frames,), 0 where unvoiced
    mcep: FloatArray  # (n_frames, n_mcep), coded spectral envelope, c0 = log energy
    bap: FloatArray  # (n_frames, n_bap), coded band aperiodicity in dB
    # Natural-log F0 where voiced, 0 elsewhere: taken once (``lf0``), then carried along.
    _lf0: FloatArray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.f0_hz)
        if self.mcep.shape[0] != n or self.bap.shape[0] != n:
            raise FeatureError(f"frame counts differ: f0 {n}, mcep {self.mcep.shape[0]}, "
                               f"bap {self.bap.shape[0]}")

    @property
    def n_frames(self) -> int:
        return len(self.f0_hz)

    @property
    def voiced(self) -> npt.NDArray[np.bool_]:
        return self.f0_hz > 0

    @property
    def lf0(self) -> FloatArray:
        """Natural log of F0 where voiced, 0 elsewhere; shape (n_frames,)."""
        if self._lf0 is None:
            voiced = self.voiced
            self._lf0 = np.where(voiced, np.log(np.where(voiced, self.f0_hz, 1.0)), 0.0)
        return self._lf0

    def slice(self, start: int, stop: int) -> WorldFeatures:
        """Frames ``start:stop`` as a new WorldFeatures."""
        lf0 = None if self._lf0 is None else self._lf0[start:stop]
        return WorldFeatures(self.f0_hz[start:stop], self.mcep[start:stop], self.bap[start:stop],
                             lf0)


def _as_signal(samples: npt.ArrayLike) -> FloatArray:
    signal = np.ascontiguousarray(samples, dtype=np.float64)
    if signal.ndim != 1:
        raise FeatureError(f"expected a mono signal of shape (n_samples,), got {signal.shape}")
    return signal


def estimate_f0(signal: FloatArray, config: FeatureConfig) -> tuple[FloatArray, FloatArray]:
    """F0 by DIO refined by StoneMask.

    Returns
    -------
    f0_hz : ndarray, shape (n_frames,)
        0 where unvoiced.
    times_s : ndarray, shape (n_frames,)
        Frame centres relative to the first sample.

    See Also
    --------
    refine_f0 : StoneMask alone, for chosen frames.
    """
    f0_hz, times_s = pyworld.dio(signal, config.sample_rate, f0_floor=config.f0_floor_hz,
                                 f0_ceil=config.f0_ceil_hz,
                                 frame_period=config.frame_period_ms, speed=config.dio_speed)
    return refine_f0(signal, f0_hz, times_s, config), times_s


def refine_f0(signal: FloatArray, f0_hz: FloatArray, times_s: FloatArray,
              config: FeatureConfig) -> FloatArray:
    """StoneMask refinement of a coarse F0 at ``times_s``; shape (n_frames,)."""
    return pyworld.stonemask(signal, np.ascontiguousarray(f0_hz),
                             np.ascontiguousarray(times_s), config.sample_rate)


def spectral_envelope(signal: FloatArray, f0_hz: FloatArray, times_s: FloatArray,
                      config: FeatureConfig) -> FloatArray:
    """CheapTrick power envelope at ``times_s``; shape (n_frames, fft_size // 2 + 1)."""
    return pyworld.cheaptrick(signal, np.ascontiguousarray(f0_hz),
                              np.ascontiguousarray(times_s), config.sample_rate,
                              f0_floor=config.f0_floor_hz)


def aperiodicity(signal: FloatArray, f0_hz: FloatArray, times_s: FloatArray,
                 config: FeatureConfig) -> FloatArray:
    """D4C aperiodicity at ``times_s``; shape (n_frames, fft_size // 2 + 1), in (0, 1)."""
    return pyworld.d4c(signal, np.ascontiguousarray(f0_hz), np.ascontiguousarray(times_s),
                       config.sample_rate)


def encode_envelope(envelope: FloatArray, config: FeatureConfig) -> FloatArray:
    """Power envelope to ``n_mcep`` mel-cepstra; shape (n_frames, n_mcep).

    See Also
    --------
    decode_envelope : the inverse.
    """
    return pyworld.code_spectral_envelope(np.ascontiguousarray(envelope), config.sample_rate,
                                          config.n_mcep)


def decode_envelope(mcep: FloatArray, config: FeatureConfig) -> FloatArray:
    """Mel-cepstra back to a power envelope; shape (n_frames, fft_size // 2 + 1).

    See Also
    --------
    encode_envelope : the inverse.
    """
    return pyworld.decode_spectral_envelope(np.ascontiguousarray(mcep, dtype=np.float64),
                                            config.sample_rate, config.fft_size)


def encode_aperiodicity(ap: FloatArray, config: FeatureConfig) -> FloatArray:
    """Aperiodicity to band aperiodicity in dB; shape (n_frames, n_bap)."""
    return pyworld.code_aperiodicity(np.ascontiguousarray(ap), config.sample_rate)


def decode_aperiodicity(bap: FloatArray, config: FeatureConfig) -> FloatArray:
    """Band aperiodicity back to a full aperiodicity; shape (n_frames, fft_size // 2 + 1)."""
    return pyworld.decode_aperiodicity(np.ascontiguousarray(bap, dtype=np.float64),
                                       config.sample_rate, config.fft_size)


def features_at(window: FloatArray, f0_hz: FloatArray, times_s: FloatArray,
                config: FeatureConfig) -> WorldFeatures:
    """Envelope and aperiodicity of a signal window at ``times_s``, given their refined F0.

    Parameters
    ----------
    window : ndarray, shape (n_samples,)
        Signal; times count from its first sample.
    f0_hz, times_s : ndarray, shape (n_frames,)
        Refined F0 (0 where unvoiced) and the frames' centres in seconds.

    Returns
    -------
    WorldFeatures
        ``n_frames`` frames.
    """
    f0 = np.ascontiguousarray(f0_hz)
    envelope = spectral_envelope(window, f0, times_s, config)
    ap = aperiodicity(window, f0, times_s, config)
    return WorldFeatures(f0, encode_envelope(envelope, config), encode_aperiodicity(ap, config))


def analyze(samples: npt.ArrayLike, config: FeatureConfig) -> WorldFeatures:
    """WORLD features of a whole signal at ``config.sample_rate``.

    Parameters
    ----------
    samples : array_like, shape (n_samples,)
        Mono, finite samples.

    Returns
    -------
    WorldFeatures
        ``n_samples // hop_length + 1`` frames.

    Raises
    ------
    FeatureError
        If the signal is not 1-D or shorter than ``MIN_DURATION_S``.
    """
    signal = _as_signal(samples)
    if len(signal) < MIN_DURATION_S * config.sample_rate:
        raise FeatureError(f"too short: {len(signal) / config.sample_rate:.3f} s, "
                           f"need at least {MIN_DURATION_S} s")
    f0_hz, times_s = estimate_f0(signal, config)
    return features_at(signal, f0_hz, times_s, config)


def synthesize(features: WorldFeatures, config: FeatureConfig) -> FloatArray:
    """Offline WORLD synthesis (pyworld) of whole-signal features; shape (n_samples,)."""
    return pyworld.synthesize(np.ascontiguousarray(features.f0_hz),
                              decode_envelope(features.mcep, config),
                              decode_aperiodicity(features.bap, config),
                              config.sample_rate, config.frame_period_ms)
