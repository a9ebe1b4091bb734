"""The log-F0 correlation loss: shape, not scale; voiced frames only; short segments left out."""

import math

import torch

from rtconvert.modelio import Layout
from training.losses import lf0_correlation_loss

LAYOUT = Layout(n_mcep=4, n_bap=2)


def _frames(lf0: torch.Tensor, voiced: torch.Tensor) -> torch.Tensor:
    """Input-like frames (batch, n_inputs, n_frames) holding only log-F0 and voicing."""
    x = torch.zeros(lf0.shape[0], LAYOUT.n_inputs, lf0.shape[1])
    x[:, LAYOUT.lf0], x[:, LAYOUT.voiced] = lf0 * voiced, voiced
    return x


def test_only_the_contour_shape_counts():
    t = torch.linspace(0.0, 1.0, 64)[None]
    contour, voiced = torch.sin(2 * math.pi * 3 * t), torch.ones_like(t)
    target = _frames(contour, voiced)
    same_shape = lf0_correlation_loss(_frames(3.0 * contour + 1.5, voiced), target, LAYOUT)
    flat_start = lf0_correlation_loss(_frames(contour * t, voiced), target, LAYOUT)
    inverted = lf0_correlation_loss(_frames(-contour, voiced), target, LAYOUT)
    assert float(same_shape) < 1e-4 < float(flat_start) < 1.0 < float(inverted)
    assert abs(float(inverted) - 2.0) < 1e-4


def test_unvoiced_frames_and_short_segments_do_not_count():
    t = torch.linspace(0.0, 1.0, 64)[None]
    contour = torch.sin(2 * math.pi * 3 * t)
    voiced = (torch.arange(64) % 8 < 6).float()[None]  # the 7th and 8th of every 8 frames unvoiced
    noise = torch.randn(1, 64) * (1 - voiced) * 10.0  # only where unvoiced
    converted = _frames(contour, voiced)
    converted[:, LAYOUT.lf0] += noise
    assert float(lf0_correlation_loss(converted, _frames(contour, voiced), LAYOUT)) < 1e-4

    few = torch.zeros(1, 64)
    few[0, :9] = 1.0  # 9 voiced frames: too few for a correlation
    pair = torch.cat([_frames(-contour, voiced), _frames(-contour, few)])
    target = _frames(contour.expand(2, -1), torch.ones(2, 64))
    # The mean over the one segment that counts.
    assert abs(float(lf0_correlation_loss(pair, target, LAYOUT)) - 2.0) < 1e-4


def test_gradient_reaches_the_contour():
    t = torch.linspace(0.0, 1.0, 64)[None]
    voiced = torch.ones_like(t)
    converted = _frames(torch.cos(2 * math.pi * 2 * t), voiced).requires_grad_()
    loss = lf0_correlation_loss(converted, _frames(torch.sin(2 * math.pi * 2 * t), voiced), LAYOUT)
    loss.backward()
    assert torch.isfinite(converted.grad).all() and converted.grad[:, LAYOUT.lf0].abs().sum() > 0
