"""Streaming sample-rate conversion with a small, exactly known delay.

soxr's filtered qualities hold back hundreds of samples and release them in bursts
(measured here: 'LQ' 48->24 kHz emits 470 samples every fourth 256-sample block; 'HQ'
withholds 36 ms), too much for a live chain with a 50 ms budget. So the resampler is
soxr's 'QQ' (cubic, no filter, one sample held) between two short linear-phase
low-pass FIRs: before it when decimating, after it when interpolating. The FIR's
delay is an exact number of samples, which the engine reports.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError

FloatArray = npt.NDArray[np.float64]

#: Device and file rates the resampler converts from and to, in Hz (4 kHz to 384 kHz
#: checked against 16, 24 and 48 kHz); soxr spins for minutes on a ratio like 1 Hz to 24 kHz.
RATE_RANGE_HZ = (4000, 384000)

#: Taps of the anti-alias / anti-image low-pass; odd, so its delay is whole samples.
FIR_TAPS = 63
#: Low-pass cutoff as a fraction of the lower rate's Nyquist frequency.
CUTOFF = 0.9


def check_rate(rate: int, what: str = "sample rate") -> int:
    """``rate`` if the resampler supports it.

    Raises
    ------
    ConfigError
        Naming ``what`` (e.g. the file), the rate and the supported range.
    """
    low, high = RATE_RANGE_HZ
    if not low <= rate <= high:
        raise ConfigError(f"{what}: {rate} Hz is outside the {low}..{high} Hz that rtconvert "
                          "can resample")
    return rate


class _StreamingFir:
    """A linear-phase FIR low-pass that keeps its state between blocks."""

    def __init__(self, cutoff_hz: float, rate: int) -> None:
        from scipy import signal  # here, not at import: `rtconvert --help` needs none of it

        self.taps = signal.firwin(FIR_TAPS, cutoff_hz, fs=rate, window=("kaiser", 8.0))
        self.reset()

    def reset(self) -> None:
        self.history = np.zeros(FIR_TAPS - 1)  # the last input samples

    def process(self, block: FloatArray) -> FloatArray:
        joined = np.concatenate([self.history, block])
        self.history = joined[len(block):]
        return np.convolve(joined, self.taps, mode="valid")


class StreamResampler:
    """Converts a mono stream from ``in_rate`` to ``out_rate`` block by block.

    Output length varies by a sample or so per block; the concatenated output does not
    depend on how the input was cut into blocks.

    Parameters
    ----------
    in_rate, out_rate : int
        Sample rates in Hz, within ``RATE_RANGE_HZ``.

    Raises
    ------
    ConfigError
        If a rate is outside ``RATE_RANGE_HZ``.
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        check_rate(in_rate, "input rate")
        check_rate(out_rate, "output rate")
        self.in_rate, self.out_rate = in_rate, out_rate
        self.passthrough = in_rate == out_rate
        low = min(in_rate, out_rate) / 2 * CUTOFF
        self._pre = _StreamingFir(low, in_rate) if out_rate < in_rate else None
        self._post = _StreamingFir(low, out_rate) if out_rate > in_rate else None
        self.reset()

    def reset(self) -> None:
        if not self.passthrough:
            import soxr

            self._soxr = soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="float64",
                                             quality="QQ")
        for fir in (self._pre, self._post):
            if fir is not None:
                fir.reset()

    @property
    def delay_s(self) -> float:
        """Group delay of the conversion in seconds (the FIR's; cubic interpolation adds none)."""
        if self.passthrough:
            return 0.0
        rate = self.in_rate if self._pre is not None else self.out_rate
        return (FIR_TAPS - 1) / 2 / rate

    def process(self, block: FloatArray) -> FloatArray:
        """Resample one block; returns what is ready (about ``len(block) * out/in`` samples)."""
        if self.passthrough or not len(block):
            return block
        if self._pre is not None:
            block = self._pre.process(block)
        out = self._soxr.resample_chunk(np.ascontiguousarray(block, dtype=np.float64))
        if self._post is not None and len(out):
            out = self._post.process(out)
        return out
