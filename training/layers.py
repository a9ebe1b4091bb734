"""Streaming-friendly layers: causal convolutions that carry their own past as an explicit state."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class CausalConv1d(nn.Module):
    """1-D convolution that sees only the present and the past.

    The past is either zeros (whole sequences) or the ``state`` handed in, so running a
    sequence in pieces, each time passing on the state returned, gives exactly the
    frames of running it whole.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 dilation: int = 1) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.context = (kernel_size - 1) * dilation  # past frames the output needs
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Convolve ``x``.

        Parameters
        ----------
        x : Tensor, shape (batch, in_channels, n_frames)
        state : Tensor, shape (batch, in_channels, context), optional
            The last ``context`` input frames before ``x``; zeros if omitted.

        Returns
        -------
        y : Tensor, shape (batch, out_channels, n_frames)
        state : Tensor, shape (batch, in_channels, context)
            To pass with the next piece.
        """
        if state is None:
            padded = F.pad(x, (self.context, 0))
        else:
            padded = torch.cat([state, x], dim=2)
        new_state = padded[:, :, padded.shape[2] - self.context:]
        return self.conv(padded), new_state


class GatedResidualBlock(nn.Module):
    """Dilated causal convolution with a gated linear unit, conditioned additively, plus a skip."""

    def __init__(self, channels: int, condition_dim: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.conv = CausalConv1d(channels, 2 * channels, kernel_size, dilation)
        self.condition = nn.Linear(condition_dim, 2 * channels)
        self.out = nn.Conv1d(channels, channels, 1)

    @property
    def context(self) -> int:
        return self.conv.context

    def forward(self, x: torch.Tensor, condition: torch.Tensor, state: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (batch, channels, n_frames); condition: (batch, condition_dim)."""
        h, state = self.conv(x, state)
        h = F.glu(h + self.condition(condition).unsqueeze(2), dim=1)
        return x + self.out(h), state
