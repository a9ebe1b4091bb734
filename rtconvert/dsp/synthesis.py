"""Streaming WORLD synthesis: overlap-add of pulses, carrying phase, noise and tail across blocks.

pyworld's ``synthesize`` starts its pulse train and noise anew on every call, so calling
it per block would click and buzz. This follows WORLD's synthesis (Morise et al.):
pulses where the integrated F0 phase wraps (500 Hz pulses where unvoiced), each one a
minimum-phase response of ``envelope * (1 - aperiodicity**2)`` scaled by the square root
of the pulse period, plus noise filtered by the minimum-phase response of
``envelope * aperiodicity**2``. Responses are causal, so a block can be emitted as soon
as its frames are known. Every random sample comes from one generator, drawn once per
output sample, so the output does not depend on block sizes.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ..config import FeatureConfig
from .features import decode_aperiodicity, decode_envelope

FloatArray = npt.NDArray[np.float64]

#: Pulse rate in unvoiced stretches, as in WORLD.
UNVOICED_PULSE_HZ = 500.0
_SAFE_MINIMUM = 1e-12


def minimum_phase_spectra(power: FloatArray, fft_size: int) -> npt.NDArray[np.complex128]:
    """Minimum-phase spectra whose magnitude is ``sqrt(power)``.

    Parameters
    ----------
    power : ndarray, shape (n, fft_size // 2 + 1)
    fft_size : int

    Returns
    -------
    ndarray of complex, shape (n, fft_size // 2 + 1)
    """
    cepstrum = np.fft.irfft(0.5 * np.log(np.maximum(power, _SAFE_MINIMUM)), fft_size)
    half = fft_size // 2
    cepstrum[:, 1:half] *= 2.0  # folded onto the causal half
    cepstrum[:, half + 1:] = 0.0
    return np.exp(np.fft.rfft(cepstrum, fft_size))


def periodic_responses(envelope: FloatArray, ap: FloatArray, period: FloatArray,
                       fft_size: int) -> FloatArray:
    """Causal pulse responses with WORLD's DC removal; shape (n, fft_size // 2).

    ``period`` is each pulse's period in samples (it scales the energy as WORLD's noise
    size does).
    """
    return pulse_responses(minimum_phase_spectra(envelope * (1.0 - ap ** 2), fft_size), period,
                           fft_size)


def pulse_responses(spectra: npt.NDArray[np.complex128], period: FloatArray,
                    fft_size: int) -> FloatArray:
    """:func:`periodic_responses` from the minimum-phase spectra of the pulses' power."""
    response = np.fft.irfft(spectra, fft_size)[:, :fft_size // 2]
    response -= np.add.reduce(response, axis=1, keepdims=True) / response.shape[1]  # the mean
    return response * np.sqrt(period)[:, None]


class StreamingSynthesizer:
    """Turns WORLD frames into samples as they arrive.

    Call :meth:`process` with consecutive frames (F0, mel-cepstra, band aperiodicity);
    after frames ``0..k`` it returns the samples up to frame ``k``'s centre, i.e.
    synthesis needs one frame of lookahead for the interpolation between frames.

    Parameters
    ----------
    config : FeatureConfig
        Sample rate, frame period and coding of the frames.
    seed : int
        Seed of the noise generator.
    """

    def __init__(self, config: FeatureConfig, seed: int = 0) -> None:
        self.config = config
        self.fft_size = config.fft_size
        self.hop = config.hop_length
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._last: tuple[float, FloatArray, FloatArray] | None = None  # f0, envelope, ap
        # In cycles, in [0, 1). Not 0: 500 Hz unvoiced pulses at 24 kHz would then cross
        # whole cycles exactly, and rounding would move pulses with the block boundaries.
        self._phase = 0.1234567
        self._tail = np.zeros(self.fft_size)  # overlap-add carried into the next block
        self._noise_filter: npt.NDArray[np.complex128] | None = None  # of the running pulse
        self._grids: dict[int, tuple[npt.NDArray[np.intp], FloatArray, FloatArray]] = {}

    def process(self, f0_hz: FloatArray, mcep: FloatArray, bap: FloatArray) -> FloatArray:
        """Synthesize the samples between the previous last frame and the newest.

        Parameters
        ----------
        f0_hz : ndarray, shape (n_frames,)
        mcep : ndarray, shape (n_frames, n_mcep)
        bap : ndarray, shape (n_frames, n_bap)

        Returns
        -------
        ndarray, shape (n_frames * hop_length,)
            Except on the first call, which returns ``(n_frames - 1) * hop_length``
            samples (the stream starts at frame 0's centre).
        """
        envelope = decode_envelope(mcep, self.config)
        ap = decode_aperiodicity(bap, self.config)
        np.minimum(np.maximum(ap, 0.001, out=ap), 0.999, out=ap)
        if self._last is not None:
            f0_hz = np.concatenate([[self._last[0]], f0_hz])
            envelope = np.concatenate([self._last[1][None], envelope])
            ap = np.concatenate([self._last[2][None], ap])
        self._last = (float(f0_hz[-1]), envelope[-1], ap[-1])
        n_samples = (len(f0_hz) - 1) * self.hop
        if n_samples == 0:
            return np.zeros(0)
        return self._render(f0_hz, envelope, ap, n_samples)

    def _grid(self, n_samples: int) -> tuple[npt.NDArray[np.intp], FloatArray, FloatArray]:
        """For each output sample: the frame before it, and its weights toward the next and
        that frame (the same every step, so cached)."""
        grid = self._grids.get(n_samples)
        if grid is None:
            position = np.arange(n_samples) / self.hop  # in frames, from the first given frame
            frame = np.minimum(position.astype(int), n_samples // self.hop - 1)
            weight = position - frame
            grid = self._grids[n_samples] = (frame, weight, 1 - weight)
        return grid

    def _render(self, f0_hz, envelope, ap, n_samples) -> FloatArray:
        rate, fft_size = self.config.sample_rate, self.fft_size
        frame, weight, rest = self._grid(n_samples)
        voiced_frames = (f0_hz > 0).astype(float)
        voiced = (voiced_frames[frame] * rest + voiced_frames[frame + 1] * weight) > 0.5
        f0 = f0_hz[frame] * rest + f0_hz[frame + 1] * weight
        f0 = np.where(voiced, f0, UNVOICED_PULSE_HZ)
        cycles = self._phase + np.cumsum(f0 / rate)
        whole_cycles = np.floor(cycles)
        before = np.empty(n_samples)  # the whole cycles one sample earlier
        before[0], before[1:] = math.floor(self._phase), whole_cycles[:-1]
        pulses = np.flatnonzero(whole_cycles > before)
        self._phase = float(cycles[-1] % 1.0)

        out = np.empty(n_samples + fft_size)
        out[:fft_size] = self._tail
        out[fft_size:] = 0.0
        noise = self._rng.standard_normal(n_samples)
        starts = pulses
        filters = np.zeros((0, fft_size // 2 + 1), dtype=complex)
        if len(pulses):
            lo, w = frame[pulses], weight[pulses][:, None]
            env = envelope[lo] * (1 - w) + envelope[lo + 1] * w
            ratio = ap[lo] * (1 - w) + ap[lo + 1] * w
            pulse_voiced = voiced[pulses]
            harmonic = np.flatnonzero(pulse_voiced & (ratio[:, 0] < 0.999))
            noise_power = np.where(pulse_voiced[:, None], env * ratio ** 2, env)
            # One minimum-phase pass for the pulses' and the noise's responses (row by row
            # the same numbers as two passes, in half the calls).
            periodic_power = env[harmonic] * (1.0 - ratio[harmonic] ** 2)
            spectra = minimum_phase_spectra(np.concatenate([periodic_power, noise_power]),
                                            fft_size)
            filters = spectra[len(harmonic):]
            if len(harmonic):
                periodic = pulse_responses(spectra[:len(harmonic)],
                                           rate / f0[pulses[harmonic]], fft_size)
                half = fft_size // 2
                for response, p in zip(periodic, pulses[harmonic].tolist()):
                    out[p:p + half] += response
        # Noise segments run from each pulse to the next; the first continues the last
        # pulse of the previous block with that pulse's filter. All are filtered at once.
        if self._noise_filter is not None and (not len(pulses) or pulses[0] > 0):
            starts = np.concatenate([[0], pulses])
            filters = np.concatenate([self._noise_filter[None], filters])
        if len(starts):
            stops = np.append(starts[1:], n_samples)
            segments = np.zeros((len(starts), fft_size))
            for segment, a, b in zip(segments, starts.tolist(), stops.tolist()):
                segment[:min(b - a, fft_size)] = noise[a:min(b, a + fft_size)]
            filtered = np.fft.irfft(np.fft.rfft(segments, axis=1) * filters, fft_size, axis=1)
            for a, response in zip(starts.tolist(), filtered):
                out[a:a + fft_size] += response
        if len(pulses):
            self._noise_filter = filters[-1]
        self._tail = out[n_samples:].copy()
        return out[:n_samples]
