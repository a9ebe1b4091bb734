"""rtconvert: real-time emotional voice conversion on WORLD features.

The public API, imported on first use (so ``rtconvert --help`` and ``rtconvert ctl`` start
fast)::

    import rtconvert
    bundle = rtconvert.load_bundle()                       # the shipped model, checked
    rtconvert.convert_file(bundle, "in.wav", "out.wav", rtconvert.Settings("happy", 1.0))
    engine = rtconvert.Engine(bundle, 48000)               # blocks in, converted blocks out
    live = rtconvert.LiveStream(bundle)                    # microphone to speakers

Layers, each importing only the ones below it (``lint-imports`` checks it, contracts in
pyproject.toml); every module's docstring is the reference for its part:

``cli/``      the ``rtconvert`` command (launcher, commands, shared arguments, one error path)
``app/``      the PyQt6 desktop app: window and panels
``control/``  remote control through one Controller: OSC, WebSocket, MIDI, hotkeys, ``ctl``
``bench/``    timing the engine, the JACK loopback and its feeder client
``live/``     the PortAudio stream, its callback's lock-free rings, devices, headroom,
              real-time threads, status, recording, replay, JACK helpers
``offline/``  audio files and file conversion in bounded memory
``engine/``   the Engine and its stages: speaker tracking, the generator (ONNX Runtime),
              conversion, prosody, mixer
``dsp/``      WORLD features, streaming analysis and synthesis, pitch, resampling, levels,
              the front end's gain
base          ``bundle`` (the checked model bundle), ``modelio`` (what the generator reads and
              writes), ``settings`` (what the user controls), ``presets``, ``profiles``,
              ``config``, ``files``, ``errors``, ``onnx_session``
``models/``   the shipped bundles: default (balanced profile) and low

The runtime never imports torch; ``training/`` and ``export/`` build the models.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_API = {
    "load_bundle": "rtconvert.bundle",
    "Bundle": "rtconvert.bundle",
    "Settings": "rtconvert.settings",
    "Engine": "rtconvert.engine.engine",
    "convert_file": "rtconvert.offline.fileconvert",
    "LiveStream": "rtconvert.live.stream",
    "LiveConfig": "rtconvert.live.config",
    "RtconvertError": "rtconvert.errors",
}
__all__ = ["Bundle", "Engine", "LiveConfig", "LiveStream", "RtconvertError", "Settings",
           "__version__", "convert_file", "load_bundle"]

if TYPE_CHECKING:
    from .bundle import Bundle, load_bundle
    from .engine.engine import Engine
    from .errors import RtconvertError
    from .live.config import LiveConfig
    from .live.stream import LiveStream
    from .offline.fileconvert import convert_file
    from .settings import Settings


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'rtconvert' has no attribute {name!r}")
