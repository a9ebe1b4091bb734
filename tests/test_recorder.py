"""Recording to WAV: the files appear under their names only when closed, and a full disk keeps
what was recorded and says so."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from disk import listing, small_tmpfs

from rtconvert.errors import OutputError
from rtconvert.live.recorder import WavRecorder


def _record(folder, seconds: float, rate: int = 8000) -> WavRecorder:
    recorder = WavRecorder(folder / "in.wav", folder / "out.wav", rate)
    block = 0.1 * np.sin(np.arange(256) * 0.1)
    for _ in range(int(seconds * rate / 256)):
        recorder.push(block, -block)
    return recorder


def test_files_get_their_names_when_the_recording_closes(tmp_path):
    recorder = _record(tmp_path, 1.0)
    recorder.wait_written()
    assert "in.wav" not in listing(tmp_path)  # still being written
    recorder.close()
    assert listing(tmp_path) == ["in.wav", "out.wav"]
    recorded, rate = soundfile.read(tmp_path / "in.wav")
    assert rate == 8000 and len(recorded) == 31 * 256


def test_a_full_disk_keeps_what_was_recorded_and_says_so(tmp_path):
    with small_tmpfs(tmp_path / "disk") as disk:
        recorder = _record(disk, 10.0)  # 2 x 240 KB of 24-bit samples on a 64 KB disk
        with pytest.raises(OutputError, match="disk is full"):
            recorder.close()
        assert listing(disk) == ["in.wav", "out.wav"]
        for name in ("in.wav", "out.wav"):
            kept, _ = soundfile.read(disk / name)
            assert 0 < len(kept) < 10 * 8000


def test_handing_a_block_over_allocates_nothing(tmp_path):
    """push runs in the audio callback: it copies into the recorder's rings, nothing more."""
    import tracemalloc

    recorder = _record(tmp_path, 0.1)
    recorder.close()  # the writer has stopped: only push's own allocations are traced below
    block = np.zeros(256, dtype=np.float32)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(100):
            recorder.push(block, block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 1024  # a block as a float64 array would be 2 KB
