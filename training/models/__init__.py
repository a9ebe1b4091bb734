"""Networks: the streaming generator, the per-domain discriminator and the emotion classifier."""

from .classifier import EmotionClassifier
from .discriminator import Discriminator
from .generator import Generator

__all__ = ["Discriminator", "EmotionClassifier", "Generator"]
