"""rtconvert: real-time emotional voice conversion on WORLD features.

Public API map
--------------
config      FeatureConfig and the other frozen settings dataclasses
features    WORLD analysis and synthesis (pure functions shared with training)
audiofile   reading audio files into validated mono float64 at a chosen rate
prosody     speaker-relative log-F0 statistics, the emotion shift, running live statistics
pitch       PitchTracker: causal F0 of the stream's frames, a step at a time
periodicity the frames' difference functions and their dips (YIN, pYIN), no state
analysis    StreamingAnalyzer: WORLD frames of a live signal, a 20 ms step at a time
controls    Settings (what the user controls) and Ramp (glides instead of jumps)
engine      Engine: device-rate blocks in, converted blocks out, a known delay later
samplequeue SampleQueue: samples handed between stages or threads
bench       the latency/RTF benchmark behind `rtconvert bench`
live        LiveStream: PortAudio duplex stream, monitor, recording, device lookup
loopback    end-to-end latency through a JACK server (a second client plays and records)
presets     named Settings kept as JSON in the user's config folder
control     one Controller for every input: OSC, WebSocket, MIDI, global hotkeys, `rtconvert ctl`
f0trace     F0Trace: the last seconds of input/output F0 for display (engine writes, UI reads)
replay      Replay: 'hear it', the last seconds converted then unconverted on the monitor
pairring    PairRing: a fixed two-row ring one thread fills and others copy, without locks
gui         the PyQt6 desktop app (`rtconvert gui`; gui_status, gui_f0, gui_control: its panels)
cli         the `rtconvert` command (launcher: the console script, `ctl` without the converter)
bundle      the model bundle: load_bundle validates, write_bundle writes (export/ uses it)
model       mel-cepstrum converters: OnnxConverter (the generator), IdentityConverter
resample    StreamResampler: block-by-block rate conversion with an exact delay
synthesis   StreamingSynthesizer: WORLD synthesis that carries its state across blocks
errors      RtconvertError and its subclasses

The runtime never imports torch; training/ and export/ may.
"""

__version__ = "0.1.0"
