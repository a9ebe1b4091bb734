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


def test_training_and_the_runtime_lay_the_generators_rows_out_alike():
    """What training judges (converted_inputs) is what the runtime would feed the generator
    for the changed frames (model_inputs): the same rows hold the same features."""
    import numpy as np

    from rtconvert.modelio import Normalization, SpeakerLevels, model_inputs
    from training.losses import converted_inputs

    rng = np.random.default_rng(0)
    n, layout = 30, Layout(n_mcep=5, n_bap=3)
    norm = Normalization(rng.normal(size=5), rng.uniform(0.5, 2, 5), rng.normal(size=3),
                         rng.uniform(0.5, 2, 3), 1.5)
    speaker = SpeakerLevels(np.log(150.0), 0.2, -9.0, rng.normal(size=5))
    f0 = np.where(rng.random(n) < 0.7, 150 * 2 ** rng.normal(0, 0.2, n), 0.0)
    lf0 = np.where(f0 > 0, np.log(np.where(f0 > 0, f0, 1)), 0.0)
    mcep, bap = rng.normal(size=(n, 5)), rng.normal(size=(n, 3))
    source = torch.from_numpy(model_inputs(lf0, mcep, bap, norm, speaker))[None]
    # Rows in the order Layout names them.
    voiced = torch.from_numpy((f0 > 0).astype(np.float32))
    assert torch.equal(source[0, layout.voiced], voiced)
    expected_c0 = torch.tensor((mcep[:, 0] - speaker.c0_mean) / norm.c0_scale, dtype=torch.float32)
    assert torch.allclose(source[0, layout.c0_in], expected_c0)
    # A change of every output row, and the runtime's shift, land where the runtime puts them.
    delta = torch.from_numpy(rng.normal(size=(1, layout.n_outputs, n)).astype(np.float32))
    none = torch.tensor([[0.0, 1.0, 0.0]])
    converted = converted_inputs(source, delta, none, torch.ones(1, 1, n), layout)
    changed_mcep = mcep.copy()
    changed_mcep[:, 1:] += delta[0, layout.mcep].numpy().T * norm.mcep_std[1:]
    changed_mcep[:, 0] += delta[0, layout.c0_out].numpy() * norm.c0_scale
    changed_bap = bap + delta[0, layout.bap_out].numpy().T * norm.bap_std
    changed_lf0 = np.where(f0 > 0, lf0 + delta[0, layout.lf0].numpy() * speaker.lf0_std, 0.0)
    runtime = model_inputs(changed_lf0, changed_mcep, changed_bap, norm, speaker)
    assert np.allclose(converted[0].numpy(), runtime, atol=1e-4)
