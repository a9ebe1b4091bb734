"""Validation during training: mel-cepstral distortion on held-out speakers, audio samples, loss plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtconvert.audiofile import write_audio
from rtconvert.config import FeatureConfig
from rtconvert.features import WorldFeatures, synthesize
from rtconvert.prosody import log_f0_stats, shift_log_f0, voiced_log_f0

from .dataset import TARGET_EMOTIONS, condition_vector
from .extract import feature_path, load_features
from .measures import mel_cepstral_distortion


@torch.no_grad()
def convert_mcep(generator, mcep_norm: np.ndarray, emotion: str, alpha: float,
                 device: torch.device) -> np.ndarray:
    """Whole-utterance conversion of normalised c1.. (n_frames, n_features)."""
    x = torch.from_numpy(np.ascontiguousarray(mcep_norm.T, dtype=np.float32))[None].to(device)
    c = torch.from_numpy(condition_vector(emotion, alpha))[None].to(device)
    return generator(x, c)[0].T.cpu().numpy().astype(np.float64)


def validate(generator, data, sample_dir: Path, device: torch.device) -> dict[str, float]:
    """MCD of converted vs real strong takes on validation speakers, and audio samples."""
    std = np.array(data.stats["mcep_std"])[1:]
    converted, zero_effort = [], []
    for pair in data.valid_pairs:
        source, target = data.valid_takes[pair.neutral], data.valid_takes[pair.emotional]
        emotion, intensity = target.domain
        if intensity != "strong":
            continue
        output = convert_mcep(generator, source.mcep, emotion, 1.0, device)
        aligned = target.mcep[pair.to_emotional]
        converted.append(mel_cepstral_distortion(output * std, aligned * std))
        zero_effort.append(mel_cepstral_distortion(source.mcep * std, aligned * std))
    write_samples(generator, data, sample_dir, device)
    if not converted:
        return {}
    return {"valid_mcd_db": float(np.mean(converted)),
            "valid_mcd_zero_effort_db": float(np.mean(zero_effort))}


def write_samples(generator, data, sample_dir: Path, device: torch.device) -> None:
    """The first validation neutral take converted to every emotion at strong intensity."""
    config = FeatureConfig.from_dict(data.stats["feature_config"])
    mean, std = np.array(data.stats["mcep_mean"]), np.array(data.stats["mcep_std"])
    take = next(t for t in data.valid_takes if t.utterance.emotion == "neutral")
    features = load_features(feature_path(data.feature_dir, take.utterance))
    source_stats = log_f0_stats(voiced_log_f0(features.f0_hz))
    sample_dir.mkdir(parents=True, exist_ok=True)
    write_audio(sample_dir / "neutral.wav", synthesize(features, config), config.sample_rate)
    voiced = features.f0_hz > 0
    for emotion in TARGET_EMOTIONS:
        shift = data.stats["prosody"].get(emotion, {}).get("strong")
        if shift is None:  # no strong takes of this emotion in the training data
            continue
        mcep = features.mcep.copy()
        normalised = (mcep[:, 1:] - mean[1:]) / std[1:]
        mcep[:, 1:] = convert_mcep(generator, normalised, emotion, 1.0, device) * std[1:] + mean[1:]
        lf0 = shift_log_f0(np.log(np.maximum(features.f0_hz, 1e-3)), voiced, source_stats,
                           shift["delta_lf0"], shift["sigma_ratio"], 1.0)
        f0 = np.where(voiced, np.exp(lf0), 0.0)
        audio = synthesize(WorldFeatures(f0, mcep, features.bap), config)
        write_audio(sample_dir / f"{emotion}.wav", 0.9 * audio / max(1e-9, np.abs(audio).max()),
                    config.sample_rate)


def plot_losses(history: list[dict[str, Any]], path: Path) -> None:
    """PNG of every logged loss and validation score against the step."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    names = sorted({k for row in history for k in row} - {"step"})
    figure, axes = pyplot.subplots(len(names), 1, figsize=(7, 1.8 * len(names)), sharex=True)
    for axis, name in zip(np.atleast_1d(axes), names):
        points = [(row["step"], row[name]) for row in history if name in row]
        axis.plot(*zip(*points), marker="." if len(points) < 30 else None)
        axis.set_ylabel(name, fontsize=7)
        axis.grid(alpha=0.3)
    np.atleast_1d(axes)[-1].set_xlabel("step")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)
