"""Latency profiles: how long the engine's steps are, how far its analysis looks ahead, and the
device block and live headroom that go with them."""

from __future__ import annotations

from dataclasses import dataclass

from .config import FeatureConfig


@dataclass(frozen=True)
class LatencyProfile:
    """The stream's timing: a step gathers ``step_s`` of frames, each analysed with
    ``analysis_lookahead_s`` of future signal; both round to whole frames."""

    name: str
    # Each step costs a fixed overhead (ONNX Runtime's graph, pyworld calls): shorter steps
    # lower the latency and raise the processing time (``rtconvert bench`` measures both).
    step_s: float
    # Future signal the F0 and envelope analysis of a frame waits for.
    analysis_lookahead_s: float
    # Device block in samples when none is asked for (5.3 ms at 48 kHz).
    block: int = 256
    # Converted audio the live stream queues ahead of the device, rounded up to whole
    # blocks: the worker's slack to convert a block (``headroom.headroom_samples``).
    headroom_s: float = 0.010

    def geometry(self, config: FeatureConfig) -> tuple[int, int]:
        """(frames per step, analysis lookahead in frames) at a model configuration."""
        frame_s = config.hop_length / config.sample_rate
        return max(1, round(self.step_s / frame_s)), round(self.analysis_lookahead_s / frame_s)


BALANCED = LatencyProfile("balanced", step_s=0.020, analysis_lookahead_s=0.010)
#: 10 ms steps and 5 ms of analysis lookahead: with a one-frame generator lookahead and
#: 128-sample blocks at 48 kHz, 24 ms from microphone to speaker (``rtconvert bench``).
LOW = LatencyProfile("low", step_s=0.010, analysis_lookahead_s=0.005, block=128,
                     headroom_s=0.005)
PROFILES = {profile.name: profile for profile in (BALANCED, LOW)}
