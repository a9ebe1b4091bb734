"""Validation in training: dev-speaker conversions against their real takes, samples, loss plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtconvert.config import FeatureConfig
from rtconvert.dsp.features import WorldFeatures, synthesize
from rtconvert.engine.prosody import CENTS_PER_LOG
from rtconvert.files import atomic_output
from rtconvert.modelio import speech_weight
from rtconvert.offline.audiofile import write_audio

from .evaluation.measures import lf0_correlation, mel_cepstral_distortion
from .losses import converted_inputs


def _speech(inputs: np.ndarray, data) -> np.ndarray:
    """speech_weight of input frames, whose c0 is relative to the speaker's voiced mean."""
    return speech_weight(inputs[data.layout.c0_in] * data.norm.c0_scale, 0.0)


@torch.no_grad()
def _convert(generator, inputs: np.ndarray, condition: np.ndarray, data,
             device: torch.device) -> np.ndarray:
    """The generator's changes for a whole take, faded out where there is no speech."""
    x = torch.from_numpy(inputs)[None].to(device)
    c = torch.from_numpy(condition)[None].to(device)
    return generator(x, c)[0].cpu().numpy() * _speech(inputs, data)


def validate(generator, classifier, data, sample_dir: Path, device: torch.device
             ) -> dict[str, float]:
    """Scores of whole dev-speaker conversions against their aligned real takes.

    ``valid_score`` (higher is better) chooses the checkpoint that ships: minus the
    weighted L1 distance to the parallel targets of every feature.
    """
    layout, norm = data.layout, data.norm
    mcep_std = norm.mcep_std[1:, None]
    rows: dict[str, list[float]] = {k: [] for k in (
        "valid_parallel", "valid_mcd_db", "valid_mcd_zero_db", "valid_lf0_rmse_cents",
        "valid_lf0_zero_cents", "valid_lf0_r", "valid_lf0_r_zero",
        "valid_classifier_acc")}
    for pair in data.dev_pairs:
        source, emotional = data.dev_takes[pair.neutral], data.dev_takes[pair.emotional]
        condition = data.conditions.vector(*emotional.domain)
        shift = data.conditions.shift(source.group, *emotional.domain)
        delta = _convert(generator, source.inputs, condition, data, device)
        speech = _speech(source.inputs, data)
        mask = pair.mask * speech
        rows["valid_parallel"].append(float(np.sum(np.abs(delta - pair.target) * mask)
                                            / max(1.0, mask.sum())))
        aligned = emotional.inputs[:, pair.to_emotional]
        # The runtime's average shifts and the generator's changes, as training sees them.
        converted = _converted_inputs(source.inputs, delta, shift, speech, layout)
        rows["valid_mcd_db"].append(mel_cepstral_distortion(
            (converted[layout.mcep] * mcep_std).T, (aligned[layout.mcep] * mcep_std).T))
        rows["valid_mcd_zero_db"].append(mel_cepstral_distortion(
            (source.inputs[layout.mcep] * mcep_std).T, (aligned[layout.mcep] * mcep_std).T))
        voiced = (source.inputs[layout.voiced] > 0) & (aligned[layout.voiced] > 0)
        if voiced.any():
            std = data.conditions.neutral_levels[source.group].lf0_std
            # Pearson r is unchanged by the affine map from z-scores to log Hz: exp(z) serves.
            reference = np.where(voiced, np.exp(aligned[layout.lf0]), 0.0)
            for rmse_name, r_name, z in (
                    ("valid_lf0_rmse_cents", "valid_lf0_r", converted[layout.lf0]),
                    ("valid_lf0_zero_cents", "valid_lf0_r_zero", source.inputs[layout.lf0])):
                error = (z - aligned[layout.lf0])[voiced] * std * CENTS_PER_LOG
                rows[rmse_name].append(float(np.sqrt(np.mean(error ** 2))))
                r = lf0_correlation(np.where(voiced, np.exp(z), 0.0), reference)
                if np.isfinite(r):
                    rows[r_name].append(r)
        label = data.conditions.classes.index(emotional.utterance.emotion)
        with torch.no_grad():
            logits = classifier(torch.from_numpy(converted)[None].to(device))
        rows["valid_classifier_acc"].append(float(int(logits.argmax(1)) == label))
    scores = {k: float(np.mean(v)) for k, v in rows.items() if v}
    scores["valid_score"] = -scores["valid_parallel"]
    write_samples(generator, data, sample_dir, device)
    return scores


def _converted_inputs(source: np.ndarray, delta: np.ndarray, shift: np.ndarray,
                      speech: np.ndarray, layout) -> np.ndarray:
    return converted_inputs(*(torch.from_numpy(np.asarray(a, dtype=np.float32))[None]
                              for a in (source, delta, shift, speech[None])), layout)[0].numpy()


def write_samples(generator, data, sample_dir: Path, device: torch.device) -> None:
    """The first dev neutral take converted to every emotion at its strongest intensity."""
    config = FeatureConfig.from_dict(data.stats["feature_config"])
    layout, norm = data.layout, data.norm
    source = next(t for t in data.dev_takes if t.utterance.emotion == "neutral")
    levels = data.conditions.neutral_levels[source.group]
    sample_dir.mkdir(parents=True, exist_ok=True)
    strongest = max(data.conditions.intensity_scale, key=data.conditions.intensity_scale.get)
    speech = _speech(source.inputs, data)
    for emotion in data.conditions.classes:
        delta = np.zeros((layout.n_outputs, source.inputs.shape[1]), dtype=np.float32)
        shift = np.array([0.0, 1.0, 0.0])
        if emotion != "neutral":
            condition = data.conditions.vector(emotion, strongest)
            delta = _convert(generator, source.inputs, condition, data, device)
            shift = data.conditions.shift(source.group, emotion, strongest)
        x = _converted_inputs(source.inputs, delta, shift, speech, layout).astype(np.float64)
        voiced = x[layout.voiced] > 0
        f0 = np.where(voiced, np.exp(x[layout.lf0] * levels.lf0_std + levels.lf0_mean), 0.0)
        mcep = np.empty((x.shape[1], config.n_mcep))
        mcep[:, 1:] = (x[layout.mcep] * norm.mcep_std[1:, None] + norm.mcep_mean[1:, None]).T
        mcep[:, 0] = x[layout.c0_in] * norm.c0_scale + levels.c0_mean
        bap = (x[layout.bap_in] * norm.bap_std[:, None] + norm.bap_mean[:, None]).T
        audio = synthesize(WorldFeatures(f0, mcep, bap), config)
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
    with atomic_output(path) as partial:  # the partial file keeps the .png suffix
        figure.savefig(partial, dpi=90)
    pyplot.close(figure)
