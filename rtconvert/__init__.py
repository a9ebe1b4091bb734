"""rtconvert: real-time emotional voice conversion on WORLD features.

Public API map
--------------
config      FeatureConfig and the other frozen settings dataclasses
features    WORLD analysis and synthesis (pure functions shared with training)
audiofile   reading audio files into validated mono float64 at a chosen rate
prosody     speaker-relative log-F0 statistics and the F0 shift
errors      RtconvertError and its subclasses

The runtime never imports torch; training/ and export/ may.
"""

__version__ = "0.1.0"
