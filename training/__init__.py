"""Training side of rtconvert: corpus index, feature extraction, statistics, the CycleGAN and its evaluation.

Everything under training/ may import torch; the runtime package rtconvert/ must not.
"""
