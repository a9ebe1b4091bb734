"""Speech as a microphone in a room hears it: reverberation, the mic's band, noise, hum and gain.

A :class:`Room` is what stays the same for one speaker (the room's impulse response, the
microphone's band, the hum of the mains and the gain the user set); :func:`record` puts a
take into it with its own noise. Both are drawn from seeds, so the same seed records the
same take the same way in every process and every run: the evaluation's room condition and
training's room augmentation use disjoint seeds.

Impulse responses come from pyroomacoustics' image-source model of a shoebox room whose
wall absorption gives the drawn RT60 (Sabine); noise is pink (1/f), at an SNR relative to
the take's active speech level.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import signal

from rtconvert.dsp.levels import SILENCE_DB, db_to_gain, gain_to_db
from rtconvert.dsp.normalizer import speech_level_db

FloatArray = npt.NDArray[np.float64]

#: Changes whenever the same seed would record differently (feature caches depend on it).
ROOM_VERSION = 2


@dataclass(frozen=True)
class RoomRanges:
    """The ranges rooms are drawn from (uniformly)."""

    rt60_s: tuple[float, float] = (0.2, 0.7)  # living rooms and offices to a bare kitchen
    width_m: tuple[float, float] = (3.0, 7.0)
    depth_m: tuple[float, float] = (3.0, 6.0)
    height_m: tuple[float, float] = (2.4, 3.2)
    distance_m: tuple[float, float] = (0.3, 1.5)  # mouth to microphone: headset to desk mic
    snr_db: tuple[float, float] = (15.0, 30.0)  # noise below the active speech level
    hum_below_speech_db: tuple[float, float] = (25.0, 45.0)  # mains hum and its harmonics
    high_pass_hz: tuple[float, float] = (60.0, 200.0)  # the mic's (and its preamp's) band
    low_pass_hz: tuple[float, float] = (5000.0, 11000.0)
    presence_db: tuple[float, float] = (-4.0, 6.0)  # a consumer mic's 2-5 kHz bump
    gain_db: tuple[float, float] = (-20.0, 10.0)  # how far the input gain is off nominal


@dataclass(frozen=True)
class Room:
    """One speaker's recording set-up at one sample rate."""

    impulse_response: FloatArray  # (n_taps,), direct path first
    sample_rate: int
    rt60_s: float
    snr_db: float
    hum_hz: float  # 50 or 60
    hum_below_speech_db: float
    band_hz: tuple[float, float]
    presence_db: float
    gain_db: float


def seed_of(*parts: object) -> int:
    """A stable 32-bit seed from any printable parts (Python's hash() changes per process)."""
    return int.from_bytes(hashlib.sha1(repr(parts).encode()).digest()[:4], "little")


def _impulse_response(rng: np.random.Generator, ranges: RoomRanges, rt60_s: float,
                      sample_rate: int) -> FloatArray:
    import pyroomacoustics as pra

    dims = [rng.uniform(*ranges.width_m), rng.uniform(*ranges.depth_m),
            rng.uniform(*ranges.height_m)]
    absorption, max_order = pra.inverse_sabine(rt60_s, dims)
    room = pra.ShoeBox(dims, fs=sample_rate, materials=pra.Material(absorption),
                       max_order=min(max_order, 40))
    # The speaker somewhere away from the walls, mouth height; the mic at the drawn distance.
    mouth = np.array([rng.uniform(0.8, dims[0] - 0.8), rng.uniform(0.8, dims[1] - 0.8),
                      rng.uniform(1.1, 1.7)])
    direction = rng.normal(size=3) * [1.0, 1.0, 0.2]
    mic = mouth + rng.uniform(*ranges.distance_m) * direction / np.linalg.norm(direction)
    mic = np.clip(mic, 0.2, np.array(dims) - 0.2)
    room.add_source(mouth.tolist())
    room.add_microphone(mic.tolist())
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    rir = rir[int(np.argmax(np.abs(rir))):]  # start at the direct path: no added delay
    return rir / np.abs(rir[0])


def draw_room(seed: int, sample_rate: int, ranges: RoomRanges = RoomRanges()) -> Room:
    """The room, microphone, hum and gain of ``seed``."""
    rng = np.random.default_rng(seed)
    rt60 = rng.uniform(*ranges.rt60_s)
    rir = _impulse_response(rng, ranges, rt60, sample_rate)
    nyquist = sample_rate / 2
    band = (rng.uniform(*ranges.high_pass_hz), min(rng.uniform(*ranges.low_pass_hz),
                                                  0.9 * nyquist))
    return Room(rir, sample_rate, rt60, rng.uniform(*ranges.snr_db), float(rng.choice([50, 60])),
                rng.uniform(*ranges.hum_below_speech_db), band, rng.uniform(*ranges.presence_db),
                rng.uniform(*ranges.gain_db))


@lru_cache(maxsize=256)
def training_room(room: int, speaker: str, sample_rate: int) -> Room:
    """The room one speaker is recorded in by room augmentation ``room`` (seeds the
    evaluation never draws)."""
    return draw_room(seed_of("rtconvert-train room", room, speaker), sample_rate)


def pink_noise(n_samples: int, rng: np.random.Generator) -> FloatArray:
    """Unit-RMS noise whose power falls as 1/f (-3 dB per octave)."""
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(f), n_samples)
    return noise / (np.sqrt(np.mean(noise ** 2)) + 1e-20)


def _mic(samples: FloatArray, room: Room) -> FloatArray:
    """The microphone's band and presence bump (causal IIR filters)."""
    rate = room.sample_rate
    sos = signal.butter(2, room.band_hz, btype="bandpass", fs=rate, output="sos")
    out = signal.sosfilt(sos, samples)
    # Presence: a peaking EQ around 3.5 kHz (RBJ cookbook biquad) where the band allows.
    f0 = min(3500.0, 0.4 * rate)
    a = 10 ** (room.presence_db / 40)
    w0 = 2 * np.pi * f0 / rate
    alpha = np.sin(w0) / (2 * 1.0)
    b = [1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a]
    den = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
    return signal.lfilter(b, den, out)


def record(samples: FloatArray, room: Room, noise_seed: int) -> FloatArray:
    """``samples`` (at ``room.sample_rate``) as the room's microphone records them.

    Reverberation, then room noise (pink) at its level below the reverberant speech, then
    the mic's band, then mains hum, then the gain (at most what keeps the peak 1 dB below full
    scale, as a user sets it). Same length as the input.
    """
    rng = np.random.default_rng(noise_seed)
    rate = room.sample_rate
    wet = signal.fftconvolve(samples, room.impulse_response)[:len(samples)]
    level = speech_level_db(wet, rate)
    speech_db = SILENCE_DB if level is None else level
    noise = pink_noise(len(wet), rng) * db_to_gain(speech_db - room.snr_db)
    heard = _mic(wet + noise, room)
    # Mains hum comes in after the microphone (its cable, the preamp): not high-passed.
    t = np.arange(len(wet)) / rate
    hum = sum(np.sin(2 * np.pi * k * room.hum_hz * t + rng.uniform(0, 2 * np.pi)) / k
              for k in (1, 2, 3))
    hum *= db_to_gain(speech_db - room.hum_below_speech_db) / np.sqrt(np.mean(hum ** 2))
    out = heard + hum
    # The user turns the gain down rather than let the input clip.
    headroom_db = -gain_to_db(float(np.max(np.abs(out)))) - 1.0
    return np.clip(out * db_to_gain(min(room.gain_db, headroom_db)), -1.0, 1.0)
