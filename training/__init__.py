"""Training side of rtconvert: index, feature extraction, statistics, the CycleGAN, its evaluation.

Everything under training/ may import torch; the runtime package rtconvert/ must not.
"""
