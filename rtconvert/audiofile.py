"""Read audio files into validated mono float64 at the model rate, and write them back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

from .errors import AudioFileError
from .files import atomic_output
from .resample import check_rate


@dataclass(frozen=True)
class LoadedAudio:
    """A decoded file: mono samples at ``sample_rate`` plus what the file was."""

    samples: npt.NDArray[np.float64]  # (n_samples,), mono, roughly in [-1, 1]
    sample_rate: int  # rate of ``samples`` in Hz
    source_rate: int  # rate stored in the file in Hz
    n_channels: int  # channels in the file; more than one were averaged to mono


def load_audio(path: str | Path, sample_rate: int | None = None) -> LoadedAudio:
    """Read any format libsndfile knows, downmix to mono and resample.

    Parameters
    ----------
    path : str or Path
        The audio file.
    sample_rate : int, optional
        Rate in Hz to resample to (soxr, high quality); ``None`` keeps the file's rate.

    Returns
    -------
    LoadedAudio
        Samples of shape ``(n_samples,)`` as float64.

    Raises
    ------
    AudioFileError
        If the file is missing, cannot be decoded, holds no samples or holds NaN/inf.
    ConfigError
        If it must be resampled and its rate (or ``sample_rate``) is outside what the
        resampler supports.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file")
    try:
        data, source_rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(f"{path}: cannot decode audio ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: the file holds no samples")
    n_channels = data.shape[1]
    samples = data.mean(axis=1) if n_channels > 1 else data[:, 0]
    check_finite(samples, str(path))
    target_rate = source_rate if sample_rate is None else sample_rate
    if target_rate != source_rate:
        check_rate(source_rate, str(path))
        check_rate(target_rate, f"{path}: resampling to")
        samples = soxr.resample(samples, source_rate, target_rate, quality="HQ")
    return LoadedAudio(np.ascontiguousarray(samples, dtype=np.float64), target_rate,
                       source_rate, n_channels)


def check_finite(samples: npt.NDArray[np.floating], name: str) -> None:
    """Raise AudioFileError naming ``name`` if ``samples`` holds NaN or infinity."""
    bad = ~np.isfinite(samples)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise AudioFileError(f"{name}: {int(bad.sum())} non-finite samples (NaN/inf), "
                             f"the first at sample {first}")


def write_audio(path: str | Path, samples: npt.NDArray[np.floating], sample_rate: int) -> None:
    """Write mono samples as a file whose format follows the suffix (WAV is 24-bit PCM).

    Written atomically (:func:`.files.atomic_output`): a failure leaves ``path`` as it was.
    """
    path = Path(path)
    subtype = "PCM_24" if path.suffix.lower() in (".wav", ".flac") else None
    try:
        with atomic_output(path) as partial:
            soundfile.write(str(partial), np.clip(samples, -1.0, 1.0), sample_rate,
                            subtype=subtype)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(f"{path}: cannot write audio ({exc})") from exc
