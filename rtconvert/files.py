"""Writing files atomically: a temporary file beside the destination, renamed into place.

Every file rtconvert writes (converted audio, recordings, benchmark and evaluation JSON,
index CSVs, bundles) goes through here, so a failed write (a full disk, a killed
process) leaves the destination as it was: never half a file, never a damaged input
when the output replaces it. :func:`check_output` refuses a destination before any
work is done on it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError


def check_output(path: str | Path) -> Path:
    """Return ``path`` if a file can be written there; else raise naming why not.

    Raises
    ------
    OutputError
        If the folder does not exist, is not a folder or is not writable, or ``path``
        is itself a folder.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, expected a file name")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"{path}: the folder {folder} {what}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the folder {folder} is not writable")
    return path


def _disk_full(folder: Path, error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a full disk, or the disk is full now."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        cause = cause.__cause__ or cause.__context__
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


def temporary_beside(path: Path) -> Path:
    """A new empty hidden file in ``path``'s folder, keeping its suffix, to write ``path`` into."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                    suffix=f".partial{path.suffix}")
    os.close(handle)
    return Path(name)


def publish(partial: Path, path: Path) -> None:
    """Flush ``partial`` to disk, give it the usual permissions and rename it to ``path``."""
    descriptor = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(partial, 0o666 & ~umask)  # mkstemp's 0600 would hide a shipped model
    os.replace(partial, path)


def disk_full_error(path: Path, error: BaseException, what: str) -> OutputError | None:
    """OutputError "``path``: the disk is full; ``what``" if ``error`` came from a full disk."""
    if _disk_full(path.parent, error):
        return OutputError(f"{path}: the disk is full; {what}")
    return None


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block ends.

    The temporary file keeps ``path``'s suffix (writers that choose a format by suffix
    still work) and starts empty. If the block raises, the temporary file is removed and
    ``path`` is untouched; a full disk or another OS error is raised as OutputError.
    ``path`` may be a file the block is still reading: it is replaced only at the end.

    Raises
    ------
    OutputError
        If the folder is unusable, the disk is full, or writing fails with an OS error.
    """
    path = check_output(path)
    partial = temporary_beside(path)
    try:
        yield partial
        publish(partial, path)
    except BaseException as exc:
        full = isinstance(exc, Exception) and disk_full_error(path, exc, "nothing was written")
        partial.unlink(missing_ok=True)
        if full:
            raise full from exc
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc}); "
                              "nothing was written") from exc
        raise


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`); returns ``path``."""
    with atomic_output(path) as partial:
        partial.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"))
