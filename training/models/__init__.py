"""Networks of the conditional CycleGAN: the streaming generator and the per-domain discriminator."""

from .discriminator import Discriminator
from .generator import Generator

__all__ = ["Discriminator", "Generator"]
