"""The front end's noise suppression: WebRTC's suppressor on the model-rate stream, known delay.

A room's noise reaches WORLD's pitch and aperiodicity analysis as breath in the voice and
false voicing in the pauses. WebRTC's noise suppressor (the audio-processing module of
browsers and Discord, through pywebrtc-audio) takes most of it out in 10 ms frames at 48
kHz for 7 ms of delay and ~0.1 ms of CPU per frame; RNNoise suppresses more but adds 20 ms
and dulls clean speech above 8 kHz (docs/quality.md compares them).

The stream is resampled to 48 kHz, suppressed in whole frames and resampled back. Its
output is trimmed by the chain's delay, so that sample ``i`` out is sample ``i`` in,
denoised: the engine's dry path and its delay arithmetic stay as they are, and only
:attr:`Denoiser.latency_samples` more of it has to arrive before a step can run. Where the
frames end is set (by leading silence) so that a frame completes just as the analysis
needs its last sample: the front end costs its delay and not a frame more.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..config import FeatureConfig
from ..errors import ConfigError
from .resample import StreamResampler

FloatArray = npt.NDArray[np.float64]

#: The suppressor's rate and frame (it takes 16, 32 or 48 kHz in 10 ms frames).
NS_RATE = 48000
NS_FRAME = 480
#: Its own delay in samples at ``NS_RATE`` (measured: the output's cross-correlation with
#: the input peaks here at every suppression level; tests/test_denoise.py).
NS_DELAY = 336
#: Bumped whenever what the suppressor outputs changes (its level, delay or library): training
#: caches of features analysed through it are then made again.
VERSION = 1
#: Suppression level 0-3 (6, 12, 17, 20 dB of noise taken out of a white-noise pause);
#: 1 is gentle on clean speech.
LEVEL = 1
#: Samples beyond the chain's delay that a step waits for (what the resamplers hold back),
#: and where the frames end with respect to them: the least that works, which
#: tests/test_denoise.py checks sample by sample.
_HELD = 3
_ALIGN = 1


class Denoiser:
    """Noise suppression for a stream at ``rate``, aligned with its input.

    Parameters
    ----------
    rate : int
        The stream's rate (the model's).
    boundary : int
        A stream position whose samples before it the analysis needs all at once (a step's
        end, with the analysis's lookahead), every 10 ms from there: the frames end there.
    """

    def __init__(self, rate: int, boundary: int = 0) -> None:
        from pywebrtc_audio import NoiseSuppressor  # only where it is switched on

        self._suppressor = NoiseSuppressor(NS_RATE, 1, LEVEL)
        self._up, self._down = StreamResampler(rate, NS_RATE), StreamResampler(NS_RATE, rate)
        frame = NS_FRAME * rate // NS_RATE
        #: Output samples dropped at the start: the chain's delay, so output aligns with input.
        self.delay = round((self._up.delay_s + NS_DELAY / NS_RATE + self._down.delay_s) * rate)
        #: How much later than without it the analysis has a step's samples: the delay (and
        #: the samples the resamplers hold back).
        self.latency_samples = self.delay + _HELD
        # Leading silence that moves the frames' ends to where the analysis needs its last
        # samples: a frame then completes just as a step's last sample is in.
        lead = (-(boundary + self.delay + _ALIGN)) % frame * NS_RATE // rate
        self._pending = np.zeros(lead)  # at NS_RATE
        self._skip = self.delay + lead * rate // NS_RATE

    def process(self, samples: FloatArray) -> FloatArray:
        """Denoise the next samples; returns what is ready (whole frames, less the delay)."""
        pending = np.concatenate([self._pending, self._up.process(samples)])
        whole = len(pending) // NS_FRAME * NS_FRAME
        self._pending = pending[whole:]
        if not whole:
            return np.zeros(0)
        cleaned = self._suppressor.process(pending[:whole].astype(np.float32))
        out = self._down.process(np.asarray(cleaned, dtype=np.float64))
        skip = min(self._skip, len(out))
        self._skip -= skip
        return out[skip:]

    def flush(self) -> FloatArray:
        """What it still holds at the end of a stream, followed by silence (trim to taste)."""
        return self.process(np.zeros(self.latency_samples + 2 * NS_FRAME))


def stream_denoiser(config: FeatureConfig, frames_per_step: int, lookahead_frames: int
                    ) -> Denoiser:
    """The suppressor a streaming analysis of this step geometry needs (:mod:`.analysis`: a
    step runs once the sample after its last frame's lookahead is in).

    Raises
    ------
    ConfigError
        If the model's rate does not divide 48 kHz into whole 10 ms frames, or a step is not
        a whole number of them (the frames could not end where the steps need them).
    """
    hop, rate = config.hop_length, config.sample_rate
    frame = NS_FRAME * rate // NS_RATE
    if NS_RATE % rate or frame * NS_RATE != NS_FRAME * rate or frames_per_step * hop % frame:
        raise ConfigError(f"noise suppression needs a model rate that divides {NS_RATE} Hz "
                          f"and steps of whole 10 ms; this model runs at {rate} Hz in steps "
                          f"of {frames_per_step * hop} samples")
    return Denoiser(config.sample_rate, (frames_per_step - 1 + lookahead_frames) * hop + 1)


def denoise_whole(samples: FloatArray, denoiser: Denoiser) -> FloatArray:
    """A whole recording through a fresh ``denoiser``, as the stream hears it; same length."""
    return np.concatenate([denoiser.process(samples), denoiser.flush()])[:len(samples)]
