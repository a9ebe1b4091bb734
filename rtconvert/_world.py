"""pyworld, imported once and quietly (0.3.5 warns about pkg_resources on import)."""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    import pyworld

__all__ = ["pyworld"]
