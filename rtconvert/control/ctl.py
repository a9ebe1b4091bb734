"""``rtconvert ctl``: one command to a running converter, its status printed; fast to start.

The console script (:mod:`rtconvert.cli.launcher`) runs this without importing the converter
itself, so that a desktop shortcut or a stream deck's "run a command" action takes a
fraction of a second instead of the converter's import time.
"""

from __future__ import annotations

import argparse
import json
import sys

from .. import __version__
from ..errors import ControlError, RtconvertError
from .client import format_status, send_command
from .controller import COMMANDS
from .server import DEFAULT_HOST, DEFAULT_PORT

HELP = "control a running converter (`rtconvert run`, the app)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``rtconvert ctl`` (shared with ``rtconvert --help``)."""
    parser.add_argument("name", choices=COMMANDS, metavar="command",
                        help=f"one of {', '.join(COMMANDS)}")
    parser.add_argument("value", nargs="*",
                        help="emotion name; name=weight pairs (mix, e.g. happy=0.6 surprised=0.4); "
                             "number; on/off/toggle (bypass); up/down (intensity); off (gate); "
                             "preset name")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--token", help="the --control-token the converter was started with")


def run(args: argparse.Namespace) -> int:
    """Send the command; print the status (one line, the whole status, or JSON)."""
    if args.name == "mix":
        value = ",".join(args.value) or None
    elif len(args.value) > 1:
        raise ControlError(f"{args.name} takes one value, got {len(args.value)}")
    else:
        value = args.value[0] if args.value else None
    status = send_command(args.name, value, args.host, args.port, args.token)
    print(json.dumps(status) if args.json else format_status(args.name, status))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rtconvert ctl", description=HELP)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except RtconvertError as exc:
        print(f"rtconvert: error: {exc}", file=sys.stderr)
        return 1
