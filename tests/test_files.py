"""Atomic writes: a temporary file beside the destination, renamed into place."""

from __future__ import annotations

import os
import stat

import pytest
from disk import listing, small_tmpfs

from rtconvert.errors import OutputError
from rtconvert.files import atomic_output, check_output, write_bytes, write_text


def test_write_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert listing(tmp_path) == ["result.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_a_failure_inside_the_block_keeps_the_old_file(tmp_path):
    target = tmp_path / "data.csv"
    target.write_text("precious")
    with pytest.raises(RuntimeError, match="boom"), atomic_output(target) as partial:
        partial.write_text("half")
        assert partial.parent == tmp_path and partial.suffix == ".csv"
        raise RuntimeError("boom")
    assert target.read_text() == "precious"
    assert listing(tmp_path) == ["data.csv"]


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing" / "x.json", "does not exist"),
    (lambda d: (d / "file").write_text("") or d / "file" / "x.json", "is not a folder"),
    (lambda d: d, "is a folder"),
])
def test_bad_destinations_are_refused_before_any_work(tmp_path, make, message):
    with pytest.raises(OutputError, match=message):
        check_output(make(tmp_path))


def test_a_full_disk_leaves_neither_a_partial_file_nor_a_damaged_old_one(tmp_path):
    with small_tmpfs(tmp_path / "disk") as disk:
        old = disk / "model.onnx"
        old.write_bytes(b"x" * 20_000)
        with pytest.raises(OutputError, match="disk is full"):
            write_bytes(old, b"y" * 100_000)
        assert old.read_bytes() == b"x" * 20_000
        with pytest.raises(OutputError, match="disk is full"):
            write_bytes(disk / "new.onnx", b"y" * 100_000)
        assert listing(disk) == ["model.onnx"]
