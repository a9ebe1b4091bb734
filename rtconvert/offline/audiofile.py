"""Audio files: read whole or in blocks as validated mono float64, written back atomically."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

from ..dsp.resample import check_rate
from ..errors import AudioFileError, OutputError
from ..files import atomic_output, check_output

FloatArray = npt.NDArray[np.float64]

#: Subtypes of lossless outputs; other formats take libsndfile's default.
LOSSLESS_SUBTYPES = {"WAV": "PCM_24", "FLAC": "PCM_24"}


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


def open_audio(path: str | Path, min_seconds: float = 0.0) -> soundfile.SoundFile:
    """Open an audio file for reading in blocks (:func:`mono_blocks`), refusing what cannot be.

    Raises
    ------
    AudioFileError
        If it is missing, cannot be decoded, holds no samples or is shorter than
        ``min_seconds``.
    ConfigError
        If its rate is outside what the resampler supports.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file")
    try:
        file = soundfile.SoundFile(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(f"{path}: cannot decode audio ({exc})") from exc
    try:
        check_rate(file.samplerate, str(path))
        if file.frames == 0:
            raise AudioFileError(f"{path}: the file holds no samples")
        if file.frames < min_seconds * file.samplerate:
            raise AudioFileError(f"{path}: too short ({file.frames} samples); need at least "
                                 f"{min_seconds} s")
    except BaseException:
        file.close()
        raise
    return file


def mono_blocks(file: soundfile.SoundFile, block: int) -> Iterator[FloatArray]:
    """The file from its start in mono float64 blocks of ``block`` samples (the last shorter).

    Raises
    ------
    AudioFileError
        If decoding fails part-way or a block holds NaN or infinity.
    """
    file.seek(0)
    position = 0
    while True:
        try:
            data = file.read(block, dtype="float64", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError) as exc:
            raise AudioFileError(f"{file.name}: cannot decode audio after "
                                 f"{position / file.samplerate:.2f} s ({exc})") from exc
        if not len(data):
            return
        samples = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
        check_finite(samples, f"{file.name} (from sample {position})")
        position += len(samples)
        yield samples


def output_format(path: str | Path) -> tuple[str, str | None]:
    """Check that audio can be written to ``path``; its libsndfile format and default subtype.

    The format follows the suffix; WAV and FLAC are 24-bit PCM.

    Raises
    ------
    OutputError
        If the folder is unusable or the suffix names no format libsndfile writes.
    """
    path = check_output(path)
    kind = path.suffix[1:].upper()
    if kind not in soundfile.available_formats():
        raise OutputError(f"{path}: unknown output format {path.suffix!r}; use .wav, .flac or "
                          "another suffix libsndfile knows")
    return kind, LOSSLESS_SUBTYPES.get(kind)


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
    subtype = LOSSLESS_SUBTYPES.get(path.suffix[1:].upper())
    try:
        with atomic_output(path) as partial:
            soundfile.write(str(partial), np.clip(samples, -1.0, 1.0), sample_rate,
                            subtype=subtype)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(f"{path}: cannot write audio ({exc})") from exc
