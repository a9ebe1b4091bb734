"""The streaming generator: whole == stepped, bounded receptive field, identity at zero condition."""

import numpy as np
import pytest
import torch

from training.models import Discriminator, Generator


def make_generator_args(**overrides):
    args = dict(n_features=10, n_emotions=3, channels=16, kernel_size=3, dilations=(1, 2, 4),
                input_kernel_size=5, lookahead=2)
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
    condition = torch.tensor([[0.0, 0.7, -0.2]])
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
        stepped = x + torch.cat(deltas, dim=2)[:, :, generator.lookahead:]
    assert torch.max(torch.abs(stepped - whole)) < 1e-5


def test_zero_condition_is_identity():
    generator = Generator(**make_generator_args())
    x = torch.randn(2, 10, 50)
    assert torch.equal(generator(x, torch.zeros(2, 3)), x)


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
            assert moved == inside or (frame == t and moved), frame


def test_default_size_fits_the_live_budget():
    generator = Generator()
    n_parameters = sum(p.numel() for p in generator.parameters())
    assert n_parameters < 3_000_000
    assert generator.lookahead <= 4


def test_discriminator_picks_the_domain_head():
    discriminator = Discriminator(n_features=10, n_domains=5, channels=8, n_layers=2)
    x = torch.randn(3, 10, 64)
    scores = discriminator(x, torch.tensor([0, 3, 4]))
    all_heads = discriminator.heads(discriminator.body(x))
    assert scores.shape == (3, 16)
    assert torch.equal(scores[1], all_heads[1, 3])
