"""Streaming WORLD synthesis: pulse-by-pulse overlap-add that carries its phase, noise and tail across blocks.

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

import numpy as np
import numpy.typing as npt

from .config import FeatureConfig
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
    folded = np.zeros_like(cepstrum)
    half = fft_size // 2
    folded[:, 0] = cepstrum[:, 0]
    folded[:, 1:half] = 2.0 * cepstrum[:, 1:half]
    folded[:, half] = cepstrum[:, half]
    return np.exp(np.fft.rfft(folded, fft_size))


def periodic_responses(envelope: FloatArray, ap: FloatArray, period: FloatArray,
                       fft_size: int) -> FloatArray:
    """Causal pulse responses with WORLD's DC removal; shape (n, fft_size // 2).

    ``period`` is each pulse's period in samples (it scales the energy as WORLD's noise
    size does).
    """
    spectra = minimum_phase_spectra(envelope * (1.0 - ap ** 2), fft_size)
    response = np.fft.irfft(spectra, fft_size)[:, :fft_size // 2]
    response -= response.mean(axis=1, keepdims=True)
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
        ap = np.clip(decode_aperiodicity(bap, self.config), 0.001, 0.999)
        if self._last is not None:
            f0_hz = np.concatenate([[self._last[0]], f0_hz])
            envelope = np.concatenate([self._last[1][None], envelope])
            ap = np.concatenate([self._last[2][None], ap])
        self._last = (float(f0_hz[-1]), envelope[-1], ap[-1])
        n_samples = (len(f0_hz) - 1) * self.hop
        if n_samples == 0:
            return np.zeros(0)
        return self._render(f0_hz, envelope, ap, n_samples)

    def _render(self, f0_hz, envelope, ap, n_samples) -> FloatArray:
        rate = self.config.sample_rate
        position = np.arange(n_samples) / self.hop  # in frames, from the first given frame
        frame = np.minimum(position.astype(int), len(f0_hz) - 2)
        weight = position - frame
        voiced_frames = (f0_hz > 0).astype(float)
        voiced = (voiced_frames[frame] * (1 - weight) + voiced_frames[frame + 1] * weight) > 0.5
        f0 = f0_hz[frame] * (1 - weight) + f0_hz[frame + 1] * weight
        f0 = np.where(voiced, f0, UNVOICED_PULSE_HZ)
        cycles = self._phase + np.cumsum(f0 / rate)
        pulses = np.flatnonzero(np.diff(np.floor(np.concatenate([[self._phase], cycles]))) > 0)
        self._phase = float(cycles[-1] % 1.0)

        out = np.zeros(n_samples + self.fft_size)
        out[:self.fft_size] += self._tail
        noise = self._rng.standard_normal(n_samples)
        if len(pulses):
            pos = pulses / self.hop
            lo = np.minimum(pos.astype(int), len(f0_hz) - 2)
            w = (pos - lo)[:, None]
            env = envelope[lo] * (1 - w) + envelope[lo + 1] * w
            ratio = ap[lo] * (1 - w) + ap[lo + 1] * w
            pulse_voiced = voiced[pulses]
            harmonic = np.flatnonzero(pulse_voiced & (ratio[:, 0] < 0.999))
            if len(harmonic):
                periodic = periodic_responses(env[harmonic], ratio[harmonic],
                                              rate / f0[pulses[harmonic]], self.fft_size)
                half = self.fft_size // 2
                for response, p in zip(periodic, pulses[harmonic]):
                    out[p:p + half] += response
            noise_power = np.where(pulse_voiced[:, None], env * ratio ** 2, env)
            filters = minimum_phase_spectra(noise_power, self.fft_size)
        # Noise segments run from each pulse to the next; the first continues the last
        # pulse of the previous block with that pulse's filter. All are filtered at once.
        starts, spectra = list(pulses), [filters] if len(pulses) else []
        if self._noise_filter is not None and (not len(pulses) or pulses[0] > 0):
            starts.insert(0, 0)
            spectra.insert(0, self._noise_filter[None])
        if starts:
            starts_array = np.asarray(starts)
            stops = np.concatenate([starts_array[1:], [n_samples]])
            lengths = np.minimum(stops - starts_array, self.fft_size)
            segments = np.zeros((len(starts), self.fft_size))
            mask = np.arange(self.fft_size)[None, :] < lengths[:, None]
            index = np.minimum(starts_array[:, None] + np.arange(self.fft_size)[None, :],
                               n_samples - 1)
            segments[mask] = noise[index][mask]
            filtered = np.fft.irfft(np.fft.rfft(segments, axis=1) * np.concatenate(spectra),
                                    self.fft_size, axis=1)
            for a, response in zip(starts_array, filtered):
                out[a:a + self.fft_size] += response
        if len(pulses):
            self._noise_filter = filters[-1]
        self._tail = out[n_samples:].copy()
        return out[:n_samples]
