"""Networks: the streaming generator, the per-domain discriminator and the emotion classifier.

Their sizes have no defaults: the features set the inputs, the config's emotion list the
conditions and domains, and ``training/conf/*.yaml`` the rest (``*_params``), so what
ships is written down in one place.
"""

from training.models.classifier import EmotionClassifier
from training.models.discriminator import Discriminator
from training.models.generator import Generator

__all__ = ["Discriminator", "EmotionClassifier", "Generator"]
