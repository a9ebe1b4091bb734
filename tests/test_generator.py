"""The shipped generator (whole == stepped, receptive field, zero condition) and its critics."""

import numpy as np
import pytest
import torch
from helpers import REPO

from rtconvert.bundle import default_bundle_path, load_bundle
from rtconvert.modelio import Layout
from training.config import load_config
from training.models import Discriminator, EmotionClassifier, Generator
from training.train import build_generator

#: The config each shipped bundle (by latency profile) was trained from.
SHIPPED_CONFIGS = {"balanced": "default.yaml", "low": "low.yaml"}


def shipped_generator(profile: str = "balanced", **overrides) -> Generator:
    """The generator a shipped config describes, with ``overrides`` of its generator_params."""
    config = load_config(REPO / "training" / "conf" / SHIPPED_CONFIGS[profile],
                         [f"data.root={REPO}"])
    config["generator_params"].update(overrides)
    return build_generator(config, Layout(36, 3))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("profile", sorted(SHIPPED_CONFIGS))
def test_shipped_bundles_are_their_configs_generator(profile):
    """What ships (sizes, lookahead, state, parameter count) is what training/conf describes."""
    bundle = load_bundle(default_bundle_path(profile))
    model = bundle.metadata["model"]
    generator = shipped_generator(profile)
    assert model["generator_params"] == load_config(
        REPO / "training" / "conf" / SHIPPED_CONFIGS[profile],
        [f"data.root={REPO}"])["generator_params"]
    assert (generator.n_inputs, generator.n_outputs) == (bundle.layout.n_inputs,
                                                         bundle.layout.n_outputs)
    assert generator.n_emotions == len(bundle.emotions)
    assert generator.lookahead == bundle.lookahead_frames
    assert generator.state_size == bundle.state_size
    assert generator.receptive_field == model["receptive_field_frames"]
    assert sum(p.numel() for p in generator.parameters()) == model["n_parameters"] < 1_000_000


def _condition(generator: Generator, emotion: int = 1, intensity: float = 0.7) -> torch.Tensor:
    condition = torch.zeros(1, generator.n_emotions)
    condition[0, emotion] = intensity
    return condition


@pytest.mark.parametrize("profile, overrides", [
    ("balanced", {}), ("low", {}), ("balanced", {"lookahead": 0}),
    ("balanced", {"lookahead": 4}), ("balanced", {"kernel_size": 5})])
def test_stepping_equals_whole_sequence(profile, overrides):
    generator = shipped_generator(profile, **overrides).eval()
    x = torch.randn(1, generator.n_inputs, 300)
    condition = _condition(generator)
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
    assert stepped.shape == whole.shape == (1, generator.n_outputs, 300)
    assert torch.max(torch.abs(stepped - whole)) < 1e-5


def test_zero_condition_changes_nothing():
    generator = shipped_generator()
    x = torch.randn(2, generator.n_inputs, 50)
    zero = torch.zeros(2, generator.n_emotions)
    assert torch.equal(generator(x, zero), torch.zeros(2, generator.n_outputs, 50))
    assert generator(x, _condition(generator).expand(2, -1)).abs().max() > 0


@pytest.mark.parametrize("profile", sorted(SHIPPED_CONFIGS))
def test_receptive_field_and_lookahead_are_what_the_model_says(profile):
    # In float64: the far edge of the receptive field moves the output by ~1e-11 only.
    generator = shipped_generator(profile).eval().double()
    n_frames, t = 200, 150
    x = torch.randn(1, generator.n_inputs, n_frames, dtype=torch.float64)
    # One input per frame, that frame changed: a batch answers for every frame at once.
    changed = x.repeat(n_frames, 1, 1)
    changed[torch.arange(n_frames), :, torch.arange(n_frames)] += 1.0
    condition = _condition(generator).double()
    with torch.no_grad():
        base = generator(x, condition)[0, :, t]
        out = generator(changed, condition.expand(n_frames, -1))[:, :, t]
    moved = (out - base[None]).abs().amax(dim=1) > 1e-14
    frames = torch.arange(n_frames)
    inside = (t - generator.receptive_field + 1 + generator.lookahead <= frames) & (
        frames <= t + generator.lookahead)
    assert torch.equal(moved, inside), torch.flatnonzero(moved != inside)
    assert int(inside.sum()) == generator.receptive_field


def test_discriminator_picks_the_domain_head():
    discriminator = Discriminator(n_inputs=10, n_domains=5, channels=8, n_layers=2)
    x = torch.randn(3, 10, 64)
    scores = discriminator(x, torch.tensor([0, 3, 4]))
    all_heads = discriminator.heads(discriminator.body(x))
    assert scores.shape == (3, 16)
    assert torch.equal(scores[1], all_heads[1, 3])


def test_classifier_gives_one_verdict_per_segment_whatever_its_length():
    classifier = EmotionClassifier(n_inputs=10, n_classes=4, channels=8, n_layers=2,
                                   dropout=0.2).eval()
    for n_frames in (20, 300):
        assert classifier(torch.randn(5, 10, n_frames)).shape == (5, 4)
