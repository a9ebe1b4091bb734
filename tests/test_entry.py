"""rtconvert/entry.py: how every command turns what it raises into one line and an exit code."""

from __future__ import annotations

import pytest

from rtconvert.cli.entry import EXIT_ERROR, EXIT_INTERRUPTED, describe, run_command
from rtconvert.errors import BundleError


def _raise(exc: BaseException):
    def main(argv: list[str]) -> int:
        raise exc
    return main


@pytest.mark.parametrize("exc, line", [
    (BundleError("bundle x: metadata.emotions is missing"),
     "bundle x: metadata.emotions is missing"),
    (FileNotFoundError(2, "No such file or directory", "a.csv"),
     "a.csv: No such file or directory"),
    (ModuleNotFoundError("No module named 'torch'", name="torch"), "rtconvert[train]"),
    (ValueError("first\nsecond"), "unexpected ValueError: first; second (run again with --debug"),
])
def test_errors_become_one_line(exc, line, capsys):
    assert run_command("rtconvert-x", _raise(exc), []) == EXIT_ERROR
    error = capsys.readouterr().err
    assert error.startswith("rtconvert-x: error: ") and line in error and error.count("\n") == 1
    assert line in describe(exc)


def test_debug_raises_and_is_taken_off_the_arguments():
    seen = []
    assert run_command("p", lambda argv: seen.append(argv) or 3, ["a", "--debug", "b"]) == 3
    assert seen == [["a", "b"]]
    with pytest.raises(ValueError):
        run_command("p", _raise(ValueError("x")), ["--debug"])


def test_ctrl_c_is_one_line_and_130(capsys):
    assert run_command("p", _raise(KeyboardInterrupt()), []) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "p: interrupted\n"
