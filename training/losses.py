"""Losses of the conditional CycleGAN: least-squares adversarial, cycle-consistency, parallel."""

from __future__ import annotations

import torch


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN: real patches toward 1, generated patches toward 0."""
    return ((real_scores - 1) ** 2).mean() + (fake_scores ** 2).mean()


def generator_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN: generated patches toward 1."""
    return ((fake_scores - 1) ** 2).mean()


def l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error; the cycle and parallel losses."""
    return (prediction - target).abs().mean()
