"""Start-up time of ``rtconvert --help`` and ``rtconvert devices`` against ``import numpy``.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/startup_time.py --runs 20 [--json out.json]

Each round runs the three commands once, in an order that rotates from round to round, so
that load from other processes falls on all three alike. Prints the median and best wall
time of each and the ratios of the medians to ``python -c "import numpy"`` (issue 10: each
ratio at most 3).
"""

from __future__ import annotations

import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rtconvert.cli.entry import ArgumentParser  # usage errors in one line, as the commands'

PROG = "startup_time"
#: The ratios are taken against this one.
BASELINE = "numpy"


def commands(python: Path) -> dict[str, list[str]]:
    """The commands timed, by name: the console script beside ``python`` (as a user runs it)."""
    rtconvert = str(python.parent / "rtconvert")
    return {BASELINE: [str(python), "-c", "import numpy"],
            "help": [rtconvert, "--help"],
            "devices": [rtconvert, "devices"]}


def time_once(argv: list[str]) -> float:
    """Wall time of one run of ``argv`` in seconds; RuntimeError naming it if it fails."""
    start = time.perf_counter()
    done = subprocess.run(argv, check=False, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {last}")
    return elapsed


def measure(cmds: dict[str, list[str]], n_runs: int) -> dict:
    """Median and best time of each command over ``n_runs`` rotating rounds, and the ratios."""
    names = list(cmds)
    for name in names:  # warm-up: the first run of each pays for the disk cache
        time_once(cmds[name])
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n_runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            times[name].append(time_once(cmds[name]))
    median = {name: statistics.median(t) for name, t in times.items()}
    return {"runs": n_runs,
            "median_s": median,
            "best_s": {name: min(t) for name, t in times.items()},
            "ratio": {name: median[name] / median[BASELINE] for name in names
                      if name != BASELINE}}


def report(result: dict, cmds: dict[str, list[str]]) -> str:
    """The result as a small table, one line per command and per ratio."""
    lines = [f"{result['runs']} rounds, commands alternating; median (best) wall time:"]
    for name, argv in cmds.items():
        shown = shlex.join([Path(argv[0]).name, *argv[1:]])
        lines.append(f"  {shown:<28} {result['median_s'][name]:.3f} s "
                     f"({result['best_s'][name]:.3f} s)")
    for name, ratio in result["ratio"].items():
        lines.append(f"  ratio {name} / {BASELINE}: {ratio:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--python", type=Path, default=Path(sys.executable),
                        help="the environment's python; rtconvert is taken from beside it")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    cmds = commands(args.python)
    try:
        result = measure(cmds, args.runs)
    except (OSError, RuntimeError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    print(report(result, cmds))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
