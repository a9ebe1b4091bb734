"""The streaming generator and its critics: whole == stepped, bounded receptive field, identity at zero condition."""

import numpy as np
import pytest
import torch

from training.config import load_config
from training.models import Discriminator, EmotionClassifier, Generator
from training.train import build_generator
from rtconvert.modelio import Layout
from helpers import REPO


def make_generator_args(**overrides):
    args = dict(n_inputs=10, n_outputs=8, n_emotions=3, channels=16, kernel_size=3,
                dilations=(1, 2, 4), input_kernel_size=5, lookahead=2)
    args.update(overrides)
    return args


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("overrides", [{}, {"lookahead": 0}, {"lookahead": 4},
                                       {"dilations": (1, 2, 4, 8, 1, 2)}, {"kernel_size": 5}])
def test_stepping_equals_whole_sequence(overrides):
    generator = Generator(**make_generator_args(**overrides)).eval()
    x = torch.randn(1, 10, 200)
    condition = torch.tensor([[0.0, 0.7, 0.2]])
    with torch.no_grad():
        whole = generator(x, condition)
        future = x[:, :, -1:].expand(-1, -1, generator.lookahead)
        stream = torch.cat([x, future], dim=2)
        state, deltas, start = generator.initial_state(), [], 0
        rng = np.random.default_rng(1)
        while start < stream.shape[2]:
            n = int(rng.integers(1, 9))
            delta, state = generator.step(stream[:, :, start:start + n], condition, state)
            deltas.append(delta)
            start += n
        stepped = torch.cat(deltas, dim=2)[:, :, generator.lookahead:]
    assert stepped.shape == (1, 8, 200)
    assert torch.max(torch.abs(stepped - whole)) < 1e-5


def test_zero_condition_changes_nothing():
    generator = Generator(**make_generator_args())
    x = torch.randn(2, 10, 50)
    assert torch.equal(generator(x, torch.zeros(2, 3)), torch.zeros(2, 8, 50))
    assert generator(x, torch.tensor([[0.0, 1.0, 0.0]] * 2)).abs().max() > 0


def test_receptive_field_and_lookahead_are_what_the_model_says():
    generator = Generator(**make_generator_args()).eval()
    x = torch.randn(1, 10, 120)
    condition = torch.tensor([[1.0, 0.0, 0.0]])
    t = 60
    with torch.no_grad():
        base = generator(x, condition)[0, :, t]
        for frame in range(120):
            changed = x.clone()
            changed[0, :, frame] += 1.0
            moved = not torch.allclose(generator(changed, condition)[0, :, t], base, atol=1e-6)
            inside = t - generator.receptive_field + 1 + generator.lookahead <= frame \
                <= t + generator.lookahead
            assert moved == inside, frame


def test_shipped_config_fits_the_live_budget():
    """The default config's generator: sizes follow the features and the emotion list."""
    config = load_config(REPO / "training/conf/default.yaml")
    generator = build_generator(config, Layout(36, 3))
    assert (generator.n_inputs, generator.n_outputs) == (41, 40)
    assert generator.n_emotions == len(config["data"]["emotions"])
    assert sum(p.numel() for p in generator.parameters()) < 1_000_000
    assert generator.lookahead <= 2


def test_discriminator_picks_the_domain_head():
    discriminator = Discriminator(n_inputs=10, n_domains=5, channels=8, n_layers=2)
    x = torch.randn(3, 10, 64)
    scores = discriminator(x, torch.tensor([0, 3, 4]))
    all_heads = discriminator.heads(discriminator.body(x))
    assert scores.shape == (3, 16)
    assert torch.equal(scores[1], all_heads[1, 3])


def test_classifier_gives_one_verdict_per_segment_whatever_its_length():
    classifier = EmotionClassifier(n_inputs=10, n_classes=4, channels=8, n_layers=2).eval()
    for n_frames in (20, 300):
        assert classifier(torch.randn(5, 10, n_frames)).shape == (5, 4)
