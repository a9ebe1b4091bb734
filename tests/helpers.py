"""Helpers the tests share: paths of the real corpus and generated speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RAVDESS_ROOT = SHARED_DATA / "ravdess24k"
SEED_CSV = REPO.parent / "shared" / "seed" / "data.csv"
#: Where session fixtures keep features of the real corpus between runs (gitignored).
TEST_CACHE = REPO / "cache" / "test-features"

needs_ravdess = pytest.mark.skipif(
    not RAVDESS_ROOT.is_dir(),
    reason=f"RAVDESS corpus not found at {RAVDESS_ROOT} (only the project's machines have it)")


def speak(text: str, path: Path, pitch: int = 50, speed: int = 150, voice: str = "en") -> Path:
    """Write espeak-ng speech to ``path`` (22.05 kHz WAV); skip the test if espeak-ng is absent."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(path),
                    text], check=True, capture_output=True)
    return path
