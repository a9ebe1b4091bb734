"""The emotion classifier the generator learns to satisfy (StarGAN-VC's classification loss)."""

from __future__ import annotations

import torch
from torch import nn


class EmotionClassifier(nn.Module):
    """Recognises the emotion of a segment of frames (laid out as generator inputs).

    Trained on real speech first, then frozen: the generator's classification loss asks
    that its output be recognised as the emotion it was asked for.

    Parameters
    ----------
    n_inputs : int
        Channels per frame.
    n_classes : int
        Emotions, neutral included.
    channels : int
        Hidden channels.
    n_layers : int
        Convolutions (kernel 5, dilations 1, 2, 4, ...) before pooling over time.
    dropout : float
    """

    def __init__(self, n_inputs: int, n_classes: int, channels: int, n_layers: int,
                 dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(n_inputs, channels, 1)]
        for i in range(n_layers):
            layers += [nn.Conv1d(channels, channels, 5, dilation=2 ** i, padding=2 * 2 ** i),
                       nn.LeakyReLU(0.2), nn.Dropout(dropout)]
        self.body = nn.Sequential(*layers)
        # Mean and standard deviation over time, as utterance-level emotion features are.
        self.out = nn.Linear(2 * channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (batch, n_classes) for x (batch, n_inputs, n_frames)."""
        h = self.body(x)
        return self.out(torch.cat([h.mean(2), h.std(2)], dim=1))
