"""File conversion from disk to disk in blocks: memory stays the same however long the file is.

A file is read three times. A quick pass measures its active speech level, which the
engine's front end brings to one level before the analysis (:mod:`.normalizer`: a take
converts the same at any gain). The next streams it through the engine's own analysis to
learn what a live stream learns over time: the speaker's log-F0, energy and spectrum
(:meth:`.speaker.SpeakerTracker.prime`) and the file's speech level, which places the
silence gate relative to the recording rather than at a fixed dBFS (a quiet take is
converted like a normal one). The last streams it through the :class:`.Engine` and writes
the converted blocks to a temporary file that replaces the output only when all went
well (:mod:`.files`), so the output may be the input itself. The result equals
:func:`convert_signal` of the whole file in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile
import soxr
from tqdm import tqdm

from ..bundle import Bundle
from ..dsp.analysis import StreamingAnalyzer, analyze_stream
from ..dsp.denoise import denoise_whole
from ..dsp.features import MIN_DURATION_S
from ..dsp.levels import SILENCE_DB, gain_to_db
from ..dsp.normalizer import FRAME_S, active_level_db, frame_powers, speech_level_db
from ..engine.engine import Engine
from ..errors import ConfigError, OutputError
from ..files import atomic_output
from ..profiles import LatencyProfile
from ..settings import Settings
from .audiofile import mono_blocks, open_audio, output_format

FloatArray = npt.NDArray[np.float64]

#: Samples (at the file's rate) read, converted and written at a time.
FILE_BLOCK = 8192
#: Files at least this long show a progress bar.
PROGRESS_MIN_S = 5.0
#: The file's speech level is this percentile of its 20 ms step levels: loud speech,
#: not the pauses and not a single click.
SPEECH_PERCENTILE = 95.0
#: The default file gate in dB below the speech level. A recording whose speech reads
#: about -15 dBFS gets the live default (-55 dBFS); a quiet one gets a lower gate.
DEFAULT_GATE_BELOW_SPEECH_DB = -40.0


@dataclass(frozen=True)
class FileGate:
    """The silence gate of a file conversion, relative to the file's speech level.

    ``below_speech_db`` None turns the gate off: every frame is converted.
    """

    below_speech_db: float | None = DEFAULT_GATE_BELOW_SPEECH_DB

    def __post_init__(self) -> None:
        value = self.below_speech_db
        if value is not None and not (math.isfinite(value) and value <= 0):
            raise ConfigError(f"gate {value} dB is out of range: give dB at or below the file's "
                              "speech level (e.g. -40), or off")

    def threshold_db(self, speech_level_db: float) -> float:
        """The absolute threshold in dBFS for a file whose speech reads ``speech_level_db``."""
        if self.below_speech_db is None:
            return -math.inf
        return min(0.0, speech_level_db + self.below_speech_db)


@dataclass(frozen=True)
class FileAnalysis:
    """What the first pass learnt about a file."""

    f0_hz: FloatArray  # (n_voiced,) F0 of the voiced frames
    c0: FloatArray  # (n_voiced,) their energy (c0)
    mcep_mean: FloatArray  # (n_mcep,) their mean mel-cepstrum
    speech_level_db: float  # SPEECH_PERCENTILE of the step levels, dBFS
    n_samples: int  # samples at the file's rate
    n_model_samples: int  # samples at the model rate


@dataclass(frozen=True)
class FileReport:
    """What a file conversion did, for the user."""

    n_samples: int
    sample_rate: int
    n_channels: int
    speech_level_db: float
    gate_db: float  # the absolute threshold used; -inf when off
    limiter_db: float  # the deepest gain reduction of the limiter (0: it never acted)
    limited_samples: int  # samples the limiter's soft clipper bent
    peak_db: float  # the output's sample peak, dBFS

    def describe(self) -> str:
        """Two indented lines: the gate used, and what the limiter did."""
        if math.isinf(self.gate_db):
            gate = "gate off"
        else:
            gate = (f"gate {self.gate_db:.1f} dBFS ({self.speech_level_db - self.gate_db:.0f} dB "
                    f"below the file's speech level of {self.speech_level_db:.1f} dBFS)")
        if self.limiter_db < 0:
            limiter = (f"limiter reduced peaks by up to {-self.limiter_db:.1f} dB, "
                       f"{self.limited_samples} samples soft-clipped")
        else:
            limiter = "limiter not needed"
        return f"  {gate}\n  {limiter} (output peak {self.peak_db:.1f} dBFS)"


def _model_rate_blocks(file: soundfile.SoundFile, rate: int, block: int
                       ) -> Iterator[tuple[int, FloatArray]]:
    """The file from its start, mono, resampled to ``rate`` as one stream (soxr 'HQ'): per
    block, how many of the file's samples it read and the resampled samples."""
    resampler = soxr.ResampleStream(file.samplerate, rate, 1, dtype="float64", quality="HQ")
    for samples in mono_blocks(file, block):
        yield len(samples), resampler.resample_chunk(samples)
    yield 0, resampler.resample_chunk(np.zeros(0), last=True)


def _heard_blocks(file: soundfile.SoundFile, engine: Engine, block: int
                  ) -> Iterator[tuple[int, FloatArray]]:
    """:func:`_model_rate_blocks` as the engine's analysis hears them before its gain: through
    its noise suppressor where it runs one (a fresh one each pass), to the file's end."""
    blocks = _model_rate_blocks(file, engine.config.sample_rate, block)
    if not engine.denoise:
        yield from blocks
        return
    denoiser, n_in, n_out = engine.new_denoiser(), 0, 0
    for n_read, samples in blocks:
        n_in += len(samples)
        heard = denoiser.process(samples)
        if not n_read:  # the end: what the suppressor still holds
            heard = np.concatenate([heard, denoiser.flush()])[:n_in - n_out]
        n_out += len(heard)
        yield n_read, heard


def file_level_db(file: soundfile.SoundFile, engine: Engine, block: int = FILE_BLOCK
                  ) -> float | None:
    """A quick pass: the active speech level of a file as the engine's gain hears it
    (dsp.normalizer)."""
    sample_rate = engine.config.sample_rate
    powers, pending = [], np.zeros(0)
    frame = round(FRAME_S * sample_rate)
    for _, samples in _heard_blocks(file, engine, block):
        pending = np.concatenate([pending, samples])
        whole = len(pending) - len(pending) % frame
        powers.append(frame_powers(pending[:whole], sample_rate))
        pending = pending[whole:]
    return active_level_db(np.concatenate(powers))


def analyse_file(file: soundfile.SoundFile, engine: Engine, block: int = FILE_BLOCK,
                 bar: tqdm | None = None) -> FileAnalysis:
    """The first pass: a file's voiced F0, energy and spectrum and its speech level, in bounded
    memory.

    Runs the engine's streaming analysis, after its (primed) normaliser, exactly as
    :func:`.analysis.analyze_stream` runs it on the whole normalised file at the model rate
    (soxr 'HQ'), so the statistics are the same.
    """
    config = engine.config
    analyzer = StreamingAnalyzer(config, engine.frames_per_step, engine.lookahead_frames)
    steps: list[tuple[FloatArray, FloatArray, float]] = []  # F0, c0, level
    mcep_sum, n_frames_seen = np.zeros(config.n_mcep), 0

    def take_steps(limit: int, frame_limit: float = math.inf) -> None:
        nonlocal mcep_sum, n_frames_seen
        while len(steps) < limit and (step := analyzer.next_step()) is not None:
            f0, mcep = step.features.f0_hz, step.features.mcep
            steps.append((f0, mcep[:, 0], step.level_db))
            kept = np.arange(n_frames_seen, n_frames_seen + len(f0)) < frame_limit
            mcep_sum += mcep[kept & (f0 > 0)].sum(axis=0)
            n_frames_seen += len(f0)

    n_samples = n_model = 0
    for n_read, at_model_rate in _heard_blocks(file, engine, block):
        analyzer.push(engine.normalizer.process(at_model_rate))
        n_samples, n_model = n_samples + n_read, n_model + len(at_model_rate)
        take_steps(math.inf)  # type: ignore[arg-type]
        if bar is not None:
            bar.update(n_read / file.samplerate)
    # As analyze_stream: zeros past the end, as many steps as cover the signal's frames.
    n_frames = n_model // config.hop_length + 1
    n_steps = math.ceil(n_frames / engine.frames_per_step)
    padding = n_steps * analyzer.step_samples + analyzer.lookahead_samples + 1 - analyzer.received
    analyzer.push(np.zeros(max(0, padding)))
    take_steps(n_steps, n_frames)
    f0 = np.concatenate([s[0] for s in steps])[:n_frames]
    c0 = np.concatenate([s[1] for s in steps])[:n_frames]
    voiced = f0 > 0
    levels = np.array([s[2] for s in steps]) - engine.normalizer.gain_db  # the file's own
    speech_db = float(np.percentile(levels, SPEECH_PERCENTILE)) if len(levels) else SILENCE_DB
    mcep_mean = mcep_sum / max(int(voiced.sum()), 1)
    return FileAnalysis(f0[voiced], c0[voiced], mcep_mean, speech_db, n_samples, n_model)


def convert_file(bundle: Bundle, source: str | Path, target: str | Path, settings: Settings,
                 gate: FileGate = FileGate(), block: int = FILE_BLOCK, subtype: str | None = None,
                 progress: bool = True, profile: LatencyProfile | None = None,
                 denoise: bool | None = None) -> FileReport:
    """Convert ``source`` to ``target`` at the file's own rate, streaming from disk to disk.

    Parameters
    ----------
    bundle : Bundle
    source, target : str or Path
        Audio files; ``target`` may be ``source`` (it is replaced only once all is written).
    settings : Settings
        Emotion, intensity and gains; its ``gate_db`` is replaced by ``gate``'s threshold.
    gate : FileGate
        The silence gate relative to the file's speech level.
    block : int
        Samples per read, conversion and write; the output does not depend on it.
    subtype : str, optional
        libsndfile subtype of the output; default 24-bit PCM for WAV and FLAC.
    progress : bool
        Show a progress bar (on stderr) for files longer than ``PROGRESS_MIN_S``.
    profile : LatencyProfile, optional
        The engine's steps and lookahead; default: the profile the bundle was trained on.
    denoise : bool, optional
        The engine's noise suppression; default: as the bundle was trained.

    Returns
    -------
    FileReport

    Raises
    ------
    AudioFileError, ConfigError, OutputError
        For an unreadable or unsupported input, or an output that cannot be written (the
        output is then left as it was).
    """
    kind, default_subtype = output_format(target)
    with open_audio(source, MIN_DURATION_S) as file:
        rate, channels = file.samplerate, file.channels
        engine = Engine(bundle, rate, settings, profile=profile, denoise=denoise)
        seconds = file.frames / rate
        with tqdm(total=round(2 * seconds, 2), unit="s", desc=Path(source).name, leave=False,
                  disable=not progress or seconds < PROGRESS_MIN_S,
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}") as bar:
            engine.normalizer.prime(file_level_db(file, engine, block))
            analysis = analyse_file(file, engine, block, bar)
            if analysis.n_model_samples >= MIN_DURATION_S * engine.config.sample_rate:
                engine.speaker.prime(analysis.f0_hz, analysis.c0, analysis.mcep_mean)
            engine.update(gate_db=gate.threshold_db(analysis.speech_level_db))
            try:
                with atomic_output(target) as partial:
                    peak = _write_converted(engine, file, partial, kind,
                                            subtype or default_subtype, block, bar)
            except soundfile.LibsndfileError as exc:  # not a full disk: atomic_output says so
                raise OutputError(f"{target}: cannot write audio ({exc})") from exc
    limiter = engine.mixer.limiter
    return FileReport(analysis.n_samples, rate, channels, analysis.speech_level_db,
                      engine.settings.gate_db, limiter.reduction_db, limiter.limited_samples,
                      gain_to_db(peak))


def _write_converted(engine: Engine, file: soundfile.SoundFile, path: Path, kind: str,
                     subtype: str | None, block: int, bar: tqdm) -> float:
    """The second pass: convert ``file`` block by block into ``path``; returns the peak."""
    rate = file.samplerate
    delay = skip = round(engine.delay_s * rate)  # the engine's output is this late
    padding = (np.zeros(min(block, delay - i)) for i in range(0, delay, block))
    peak = 0.0
    with soundfile.SoundFile(str(path), "w", rate, 1, subtype, format=kind) as out:
        for samples in chain(mono_blocks(file, block), padding):
            converted = engine.process(samples)
            cut = min(skip, len(converted))
            converted, skip = converted[cut:], skip - cut
            if len(converted):
                peak = max(peak, float(np.abs(converted).max()))
                out.write(np.clip(converted, -1.0, 1.0))
            bar.update(len(samples) / rate)
    return peak


def convert_signal(engine: Engine, samples: FloatArray, block_size: int | None = None,
                   prime_statistics: bool = True) -> FloatArray:
    """Stream a whole signal in memory through ``engine`` and return it aligned with the input.

    ``block_size`` None feeds it in one block; either way the same steps run. With
    ``prime_statistics`` the front end's gain and the speaker's statistics are measured
    over the whole signal first, as :func:`convert_file` does (a live stream learns the
    statistics over its first sentences).
    :func:`convert_file` gives the same samples from a file in bounded memory.
    """
    if prime_statistics:
        config = engine.config
        at_model_rate = soxr.resample(samples, engine.device_rate, config.sample_rate, "HQ")
        if engine.denoise:  # what the analysis hears: suppressed, then brought to its level
            at_model_rate = denoise_whole(at_model_rate, engine.new_denoiser())
        engine.normalizer.prime(speech_level_db(at_model_rate, config.sample_rate))
        if len(at_model_rate) >= MIN_DURATION_S * config.sample_rate:
            features = analyze_stream(engine.normalizer.process(at_model_rate), config,
                                      engine.frames_per_step, engine.lookahead_frames)
            voiced = features.voiced
            engine.speaker.prime(features.f0_hz, features.mcep[:, 0],
                                 features.mcep[voiced].mean(0) if voiced.any() else None)
    delay = round(engine.delay_s * engine.device_rate)
    padded = np.concatenate([samples, np.zeros(delay)])
    size = len(padded) if block_size is None else block_size
    out = np.concatenate([engine.process(padded[i:i + size])
                          for i in range(0, len(padded), size)])
    return out[delay:delay + len(samples)]
