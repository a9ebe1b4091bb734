"""Networks: the streaming generator, the per-domain discriminator and the emotion classifier.

Their sizes have no defaults: the features set the inputs, the config's emotion list the
conditions and domains, and ``training/conf/*.yaml`` the rest (``*_params``), so what
ships is written down in one place.
"""

from .classifier import EmotionClassifier
from .discriminator import Discriminator
from .generator import Generator

__all__ = ["Discriminator", "EmotionClassifier", "Generator"]
