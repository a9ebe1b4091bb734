"""Losses: LSGAN, masked L1 to the target, smoothness, utterance statistics, classification."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rtconvert.modelio import DB_PER_LOG_POWER, SILENCE_BELOW_DB, SPEECH_RAMP_DB, Layout


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN: real patches toward 1, generated patches toward 0."""
    return ((real_scores - 1) ** 2).mean() + (fake_scores ** 2).mean()


def generator_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN: generated patches toward 1."""
    return ((fake_scores - 1) ** 2).mean()


def masked_l1(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the entries where ``mask`` is 1."""
    return ((prediction - target).abs() * mask).sum() / mask.sum().clamp(min=1.0)


def speech_weights(inputs: torch.Tensor, layout: Layout, c0_scale: float) -> torch.Tensor:
    """:func:`rtconvert.modelio.speech_weight` of input frames: (batch, 1, n_frames)."""
    above_db = inputs[:, layout.c0_in:layout.c0_in + 1] * c0_scale * DB_PER_LOG_POWER
    return ((above_db + SILENCE_BELOW_DB) / SPEECH_RAMP_DB).clamp(0.0, 1.0)


def smoothness_loss(delta: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean absolute change of the output from one frame to the next, weighted per channel.

    The targets are single frames of another take, noisy from frame to frame; what carries
    emotion changes over syllables. A change that jitters frame by frame (F0, energy)
    sounds rough, so the generator pays for it.
    """
    return ((delta[:, :, 1:] - delta[:, :, :-1]).abs() * weights[None, :, None]).mean()


def converted_inputs(source: torch.Tensor, delta: torch.Tensor, shift: torch.Tensor,
                     speech: torch.Tensor, layout: Layout) -> torch.Tensor:
    """The source frames after the generator's changes and the runtime's average shifts.

    Expressed like the inputs (under the speaker's neutral statistics), so that a
    classifier or discriminator trained on real inputs can judge them.

    Parameters
    ----------
    source : Tensor, shape (batch, n_inputs, n_frames)
    delta : Tensor, shape (batch, n_outputs, n_frames)
    shift : Tensor, shape (batch, 3)
        Log-F0 shift in neutral z-units, spread ratio, energy shift over ``c0_scale``.
    speech : Tensor, shape (batch, 1, n_frames)
        :func:`speech_weights` of the source: the energy shift applies to speech only.
    """
    voiced = source[:, layout.voiced]
    lf0 = voiced * (shift[:, :1] + shift[:, 1:2] * (source[:, layout.lf0] + delta[:, layout.lf0]))
    c0 = source[:, layout.c0_in] + shift[:, 2:3] * speech[:, 0] + delta[:, layout.c0_out]
    return layout.pack(torch.empty_like(source),
                       mcep=source[:, layout.mcep] + delta[:, layout.mcep], lf0=lf0, voiced=voiced,
                       c0=c0,
                       bap=source[:, layout.bap_in] + delta[:, layout.bap_out])


def statistics_loss(converted: torch.Tensor, aligned: torch.Tensor, layout: Layout
                    ) -> torch.Tensor:
    """L1 between the segments' per-channel means and standard deviations over time.

    Utterance-level statistics are what listeners and emotion classifiers judge by; log-F0
    counts over frames voiced in both segments. The mean energy is left out: the runtime
    sets the level (a capped shift), and a generator that raised it further would drive
    the limiter (shouting is +27 dB in the corpus).
    """
    voiced = converted[:, layout.voiced] * aligned[:, layout.voiced]
    weight = torch.ones_like(converted)
    weight[:, layout.lf0] = voiced
    n = weight.sum(2).clamp(min=1.0)
    means = [(x * weight).sum(2) / n for x in (converted, aligned)]
    stds = [(((x - m[:, :, None]) ** 2 * weight).sum(2) / n + 1e-6).sqrt()
            for x, m in zip((converted, aligned), means)]
    mean_error = (means[0] - means[1]).abs()
    mean_error[:, layout.c0_in] = 0.0
    return mean_error.mean() + (stds[0] - stds[1]).abs().mean()


def lf0_correlation_loss(converted: torch.Tensor, aligned: torch.Tensor, layout: Layout
                         ) -> torch.Tensor:
    """Mean of 1 - Pearson r between the segments' log-F0 and the real take's, voiced in both.

    The L1 to another take's frames is minimised by a residual that averages accents out
    (their timing jitters from take to take); correlation asks for the contour's shape
    (rises, falls, accents) whatever its scale, which the statistics loss sets.
    Segments with fewer than 10 frames voiced in both do not count.
    """
    weight = converted[:, layout.voiced] * aligned[:, layout.voiced]
    n = weight.sum(1)
    a, b = converted[:, layout.lf0], aligned[:, layout.lf0]
    a = (a - (a * weight).sum(1, keepdim=True) / n.clamp(min=1.0)[:, None]) * weight
    b = (b - (b * weight).sum(1, keepdim=True) / n.clamp(min=1.0)[:, None]) * weight
    r = (a * b).sum(1) / ((a ** 2).sum(1) * (b ** 2).sum(1) + 1e-6).sqrt()
    counted = n >= 10
    return (1.0 - r[counted]).sum() / counted.sum().clamp(min=1)


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the classifier's verdict against the asked-for emotion: class
    indices, or per class how much of it was asked for (a mixture)."""
    return F.cross_entropy(logits, labels)
