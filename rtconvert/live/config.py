"""What a live stream opens and how: devices, block, rate, latency profile, headroom."""

from __future__ import annotations

from dataclasses import dataclass

from .devices import Device
from .headroom import MAX_HEADROOM_S


@dataclass(frozen=True)
class LiveConfig:
    """Which devices to open and how."""

    input_device: Device = None
    output_device: Device = None
    monitor_device: Device = None  # a second output, e.g. headphones next to a virtual cable
    host_api: str | None = None  # e.g. "JACK"; None: PortAudio's default devices
    block: int = 256
    rate: int | None = None  # None: the output device's default rate
    latency: str | None = None  # a latency profile's name; None: the bundle's own
    # The most the headroom grows to under load; at or below the profile's, it stays fixed.
    max_headroom_s: float = MAX_HEADROOM_S
    # A headroom held at this (rounded up to whole blocks) and never adapted, so the latency
    # never moves (a streamer's audio sync offset); None: the profile's, adapting to the load.
    fixed_headroom_s: float | None = None
    # Also feed the converted voice to a source named "rtconvert" (PipeWire or PulseAudio)
    # that other applications list as a microphone (.virtualmic).
    virtual_mic: bool = False
    # Noise suppression in front of the analysis; None: as the model was trained.
    denoise: bool | None = None
