"""The generator: streamable causal gated convolutions changing WORLD frames toward an emotion."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from training.layers import CausalConv1d, GatedResidualBlock


class Generator(nn.Module):
    """Multi-domain generator of frame changes ``G(x, c) = sum_e c_e * head_e(h(x, c))``.

    ``x`` holds the frames as :mod:`rtconvert.modelio` lays them out; the output is the
    change of each (mel-cepstrum, log-F0 residual, energy, aperiodicity), which the
    runtime adds. ``c`` is the intensity per emotion. Because the output is linear in
    ``c``, ``c = 0`` changes nothing: intensity 0 is the identity by construction.

    Every convolution is causal. The output frame ``t`` is read ``lookahead`` frames
    late, so it sees the input up to ``t + lookahead``: a small, explicit lookahead, and
    a bounded receptive field of ``receptive_field`` frames. With no normalisation over
    time, stepping through a stream with :meth:`step` gives the frames of
    :meth:`forward` on the whole sequence.

    Parameters
    ----------
    n_inputs : int
        Input channels per frame.
    n_outputs : int
        Output channels per frame.
    n_emotions : int
        Target emotions (neutral excluded).
    channels : int
        Hidden channels.
    kernel_size : int
        Kernel of the dilated convolutions.
    dilations : sequence of int
        One gated residual block per dilation.
    input_kernel_size : int
        Kernel of the first convolution.
    lookahead : int
        Frames of future input each output frame sees.
    """

    def __init__(self, n_inputs: int, n_outputs: int, n_emotions: int, channels: int,
                 kernel_size: int, dilations: Sequence[int], input_kernel_size: int,
                 lookahead: int) -> None:
        super().__init__()
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self.n_emotions, self.lookahead = n_emotions, lookahead
        self.input = CausalConv1d(n_inputs, 2 * channels, input_kernel_size)
        self.input_condition = nn.Linear(n_emotions, 2 * channels)
        self.blocks = nn.ModuleList(
            GatedResidualBlock(channels, n_emotions, kernel_size, d) for d in dilations)
        self.heads = nn.Conv1d(channels, n_outputs * n_emotions, 1)
        nn.init.zeros_(self.heads.bias)
        # Per-layer state sizes, in the order step() packs them.
        self.state_shapes = [(n_inputs, self.input.context)] + [
            (channels, block.context) for block in self.blocks]

    @property
    def receptive_field(self) -> int:
        """Input frames that determine one output frame."""
        return 1 + sum(context for _, context in self.state_shapes)

    @property
    def state_size(self) -> int:
        """Length of the flat state vector of :meth:`step`."""
        return sum(c * n for c, n in self.state_shapes)

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.state_size)

    def _delta(self, x: torch.Tensor, condition: torch.Tensor, states: list | None
               ) -> tuple[torch.Tensor, list]:
        """Causal output: (batch, n_outputs, n_frames), and the new per-layer states."""
        new_states = []
        h, s = self.input(x, None if states is None else states[0])
        new_states.append(s)
        h = F.glu(h + self.input_condition(condition).unsqueeze(2), dim=1)
        for i, block in enumerate(self.blocks):
            h, s = block(h, condition, None if states is None else states[i + 1])
            new_states.append(s)
        per_emotion = self.heads(h).view(h.shape[0], self.n_emotions, self.n_outputs, -1)
        return torch.einsum("bexT,be->bxT", per_emotion, condition), new_states

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """The changes for a whole sequence.

        Parameters
        ----------
        x : Tensor, shape (batch, n_inputs, n_frames)
        condition : Tensor, shape (batch, n_emotions)
            Intensity per emotion.

        Returns
        -------
        Tensor, shape (batch, n_outputs, n_frames)
            The last ``lookahead`` frames see a repeated last input frame as their future.
        """
        future = x[:, :, -1:].expand(-1, -1, self.lookahead)
        delta, _ = self._delta(torch.cat([x, future], dim=2), condition, None)
        return delta[:, :, self.lookahead:]

    def step(self, x: torch.Tensor, condition: torch.Tensor, state: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance a stream by ``n_frames`` input frames (what the ONNX export runs).

        Parameters
        ----------
        x : Tensor, shape (1, n_inputs, n_frames)
            The newest frames.
        condition : Tensor, shape (1, n_emotions)
        state : Tensor, shape (1, state_size)
            From :meth:`initial_state` or the previous step.

        Returns
        -------
        delta : Tensor, shape (1, n_outputs, n_frames)
            The changes for the frames ``lookahead`` frames before the newest ones.
        state : Tensor, shape (1, state_size)
        """
        states, offset = [], 0
        for channels, context in self.state_shapes:
            size = channels * context
            states.append(state[:, offset:offset + size].reshape(1, channels, context))
            offset += size
        delta, new_states = self._delta(x, condition, states)
        return delta, torch.cat([s.reshape(1, -1) for s in new_states], dim=1)
