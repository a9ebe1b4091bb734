"""Console entry points of the training commands: each imports its module only when run.

So a runtime-only install (no torch, no ``train`` extra) answers ``rtconvert-train`` with
one line naming the extra to install instead of an ImportError traceback, and every
command shares the one error path of :func:`rtconvert.cli.entry.run_command`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rtconvert.cli.entry import run_command


def _command(prog: str, module: str, strip_debug: bool = True) -> Callable[..., int]:
    def main(argv: list[str] | None = None) -> int:
        return run_command(prog, lambda args: importlib.import_module(module).main(args), argv,
                           strip_debug)

    main.__doc__ = f"``{prog}``: :func:`{module}.main` behind the one error path."
    return main


index = _command("rtconvert-index", "training.index")
extract = _command("rtconvert-extract", "training.extract")
stats = _command("rtconvert-stats", "training.stats")
train = _command("rtconvert-train", "training.train")
export = _command("rtconvert-export", "export.onnx_export")
evaluate = _command("rtconvert-evaluate", "training.evaluation.evaluate", strip_debug=False)
