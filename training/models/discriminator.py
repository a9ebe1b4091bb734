"""The discriminator: a 1-D PatchGAN over frames with one output head per emotion."""

from __future__ import annotations

import torch
from torch import nn


class Discriminator(nn.Module):
    """Judges patches of frames (laid out as generator inputs) as real speech of a given domain.

    A domain is an emotion (neutral included); each has its own output channel
    and the caller picks the one of the domain it asks about (per-emotion heads, as in
    multi-domain CycleGAN/StarGAN-VC).

    Parameters
    ----------
    n_inputs : int
        Channels per frame.
    n_domains : int
        Output heads.
    channels : int
        Channels of the first layer; doubled by each strided layer.
    n_layers : int
        Strided (x2) convolutions; each patch spans about ``2 ** n_layers * 3`` frames.
    """

    def __init__(self, n_inputs: int, n_domains: int, channels: int, n_layers: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(n_inputs, channels, 3, padding=1),
                                   nn.LeakyReLU(0.2)]
        for _ in range(n_layers):
            layers += [nn.Conv1d(channels, 2 * channels, 4, stride=2, padding=1),
                       nn.LeakyReLU(0.2)]
            channels *= 2
        self.body = nn.Sequential(*layers)
        self.heads = nn.Conv1d(channels, n_domains, 3, padding=1)

    def forward(self, x: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """Scores of shape (batch, n_patches) for x (batch, n_inputs, n_frames), domain (batch,)."""
        scores = self.heads(self.body(x))
        return scores.gather(1, domain.view(-1, 1, 1).expand(-1, 1, scores.shape[2])).squeeze(1)
