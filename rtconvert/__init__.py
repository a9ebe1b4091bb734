"""rtconvert: real-time emotional voice conversion on WORLD features.

Public API map
--------------
config      FeatureConfig and the other frozen settings dataclasses
features    WORLD analysis and synthesis (pure functions shared with training)
audiofile   reading audio files into validated mono float64 at a chosen rate
prosody     speaker-relative log-F0 statistics and the F0 shift
bundle      the model bundle: load_bundle validates, write_bundle writes (export/ uses it)
model       mel-cepstrum converters: OnnxConverter (the generator), IdentityConverter
resample    StreamResampler: block-by-block rate conversion with an exact delay
synthesis   StreamingSynthesizer: WORLD synthesis that carries its state across blocks
errors      RtconvertError and its subclasses

The runtime never imports torch; training/ and export/ may.
"""

__version__ = "0.1.0"
