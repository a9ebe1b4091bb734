"""One error path for every command: one line, a non-zero exit, a traceback only with --debug.

Every console script (``rtconvert`` and the ``rtconvert-*`` training commands) runs its
``main`` through :func:`run_command`. Expected failures (an :class:`.RtconvertError`, an
OS error such as a missing file, a missing optional dependency) become one line on
stderr; anything else is a bug, reported in one line that says how to see the
traceback. Parsers built from :class:`ArgumentParser` report usage errors in one line too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..errors import ConfigError, RtconvertError

#: The flag that turns the one-line messages back into tracebacks, accepted by every command.
DEBUG_FLAG = "--debug"
#: Exit codes: a refused input or failed command, a usage error (as argparse), Ctrl-C.
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
#: Top-level modules that only the ``train`` extra installs.
TRAIN_EXTRA_MODULES = frozenset({"torch", "onnx", "librosa", "yaml", "matplotlib", "opensmile",
                                 "sklearn", "speechmos", "requests", "joblib"})
TRAIN_EXTRA_HINT = ("install the training extra: pip install torch==2.13.0 && "
                    "pip install -e '.[train]' (that is, rtconvert[train]; "
                    "or scripts/setup.sh --dev)")


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line (``prog: error: message``) and that
    answers ``--version``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .. import __version__

        self.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def one_line(text: str) -> str:
    """``text`` with its lines joined by '; ' (library messages often span several)."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def describe(exc: BaseException) -> str:
    """What went wrong, for the user, in one line."""
    if isinstance(exc, RtconvertError):
        return one_line(str(exc))
    missing = (exc.name or "") if isinstance(exc, ModuleNotFoundError) else ""
    if missing.split(".")[0] in TRAIN_EXTRA_MODULES:
        return f"this command needs {exc.name}, which is not installed; {TRAIN_EXTRA_HINT}"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return (f"unexpected {type(exc).__name__}: {one_line(str(exc))} "
            f"(run again with {DEBUG_FLAG} for the traceback, and please report it)")


def run_command(prog: str, main: Callable[[list[str]], int | None],
                argv: Sequence[str] | None = None, strip_debug: bool = True) -> int:
    """Run ``main(argv)`` and turn what it raises into one line on stderr and an exit code.

    Parameters
    ----------
    prog : str
        The command's name, which starts every message.
    main : callable
        Takes the arguments (without ``--debug`` when ``strip_debug``), returns the exit code.
    argv : sequence of str, optional
        Default: ``sys.argv[1:]``.
    strip_debug : bool
        Remove ``--debug`` before calling ``main`` (for parsers that do not know it).

    Returns
    -------
    int
        ``main``'s exit code, ``EXIT_ERROR`` after an error, ``EXIT_INTERRUPTED`` after Ctrl-C.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in args
    if strip_debug:
        args = [a for a in args if a != DEBUG_FLAG]
    try:
        return main(args) or 0
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the one place every error is turned into a line
        if debug:
            raise
        print(f"{prog}: error: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR


def existing_file(path: Path, what: str) -> Path:
    """``path`` if it is a file; else ConfigError naming ``what`` (e.g. the option)."""
    if not path.is_file():
        problem = "is a folder, expected a file" if path.is_dir() else "no such file"
        raise ConfigError(f"{what} {path}: {problem}")
    return path


def existing_folder(path: Path, what: str) -> Path:
    """``path`` if it is a folder; else ConfigError naming ``what`` (e.g. the option)."""
    if not path.is_dir():
        problem = "is a file, expected a folder" if path.exists() else "no such folder"
        raise ConfigError(f"{what} {path}: {problem}")
    return path
