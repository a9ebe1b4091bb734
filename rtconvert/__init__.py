"""rtconvert: real-time emotional voice conversion on WORLD features.

Public API map
--------------
Settings and the model
  config            frozen settings dataclasses (FeatureConfig, ...), each default written once
  profiles          LatencyProfile: step length, analysis lookahead, block and live headroom
  errors            RtconvertError and its subclasses: every error a user can cause
  bundle            the model bundle: load_bundle validates, write_bundle writes (export/ uses it)
  models/           the shipped bundles: default (balanced profile) and low
  controls          Settings (what the user controls) and Ramp (glides instead of jumps)
  presets           named Settings kept as JSON in the user's config folder

Signal processing, in the order the engine runs it
  features          WORLD analysis and synthesis as pure functions (shared with training)
  _world            pyworld, imported once and quietly
  resample          StreamResampler: block-by-block rate conversion with an exact delay
  analysis          StreamingAnalyzer: WORLD frames of a live signal, a step at a time
  periodicity       the frames' difference functions and their dips (YIN, pYIN), no state
  pitch             PitchTracker: causal F0 of the stream's frames, tracked step by step
  modelio           WORLD frames to the generator's normalised inputs, its outputs to changes
  model             frame converters: OnnxConverter (the generator), IdentityConverter
  conversion        the conversion stage: the generator per step, changes applied to frames
  prosody           speaker-relative log-F0 statistics, the emotion shift, running statistics
  synthesis         StreamingSynthesizer: WORLD synthesis that carries its state across blocks
  mixer             silence gate, wet/dry cross-fade against the delayed input, gain, limiter
  levels            signal levels in dB: a block's RMS level, gains given in dB
  stagetimes        where processing time goes: seconds per stage, each step's time
  engine            Engine: device-rate blocks in, converted blocks out, a known delay later

Files
  audiofile         reading audio whole or in blocks as validated mono float64, writing back
  files             writing files atomically: a temporary file beside, renamed into place
  fileconvert       `rtconvert convert`: disk to disk in blocks, memory independent of length

Live audio
  devices           audio devices: listing, finding by index or name, checking a rate, rescanning
  samplequeue       SampleQueue: samples handed between stages or threads
  pairring          PairRing: a fixed two-row ring one thread fills and others copy, no locks
  live              LiveStream: PortAudio duplex stream through the engine, plus a monitor
  recorder          recording a live stream's input and output to WAV, on its own thread
  replay            Replay: 'hear it', the last seconds converted then unconverted on the monitor
  f0trace           F0Trace: the last seconds of input/output F0 (engine writes, UI reads)
  bench             the latency/RTF benchmark behind `rtconvert bench`
  loopback          end-to-end latency through a JACK server (a second client plays, records)

Remote control (control/)
  control           Controller, ControlServers, ControlOptions: re-exported from the modules below
  control.controller  the Controller: parses, validates, applies, reports the status
  control.server    ServerThread: OSC on UDP, WebSocket on TCP, one port, one thread
  control.osc       OSC for the controller: `/rtconvert/<command> [value]`, a reply to each
  control.websocket the WebSocket JSON API: one reply per message, status events to subscribers
  control.process   ControlServers: the servers in a child process, in step with the converter
  control.midi      MIDI control: learnable mapping of knobs, faders, pads and notes
  control.hotkeys   global hotkeys (Ctrl+Alt+key) where the desktop allows them
  control.client    `rtconvert ctl`'s side: one command over the WebSocket API
  control.ctl       `rtconvert ctl`: one command to a running converter, fast to start

Commands and the app
  launcher          the `rtconvert` console script: `ctl` at once, the rest through cli
  entry             one error path: one line, a non-zero exit, a traceback only with --debug
  cli               the `rtconvert` command: parses arguments, calls the library
  cli_live          `rtconvert run` and `rtconvert bench --loopback`: the commands with devices
  display           whether the app can open a window here, asked before Qt is
  gui               the PyQt6 desktop app (`rtconvert gui`) around a LiveStream
  gui_status        the app's status panel: meters, latency, load, dropouts, loopback
  gui_f0            the app's 'see it, hear it' panel: input/output F0, output level, A/B replay
  gui_control       the app's remote-control panel: servers, global hotkeys, MIDI learning

The runtime never imports torch; training/ and export/ may.
"""

__version__ = "0.1.0"
