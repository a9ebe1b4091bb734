"""``rtconvert`` console script: ``ctl`` straight away, every other command through :mod:`.cli`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``rtconvert ctl`` without importing the converter (0.4 s instead of 1.7 s)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ctl"]:
        from ..control.ctl import main as ctl_main
        return ctl_main(argv[1:])
    from .commands import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
