"""The picture at the top of docs/design.md: rtconvert's layers and the imports between them.

    .venv/bin/python scripts/layers_graph.py docs/layers.png

Read from the code (grimp, the import graph import-linter checks) and the layers contract in
pyproject.toml: one row per layer, top to bottom, a box per subpackage with its module
count, the top-level modules together as "base", and an arrow where a box imports from
another that it does not already reach through a third (the transitive reduction, so the
picture stays readable). An arrow pointing up would be a broken contract: ``lint-imports``
fails on it first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
BASE = "base"


def layers() -> list[list[str]]:
    """The layers contract's subpackage rows, top first; every top-level module is "base"."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    rows = next(c for c in contracts if c["type"] == "layers")["layers"]
    named = [[n.strip().removeprefix("rtconvert.") for n in r.replace("|", ":").split(":")]
             for r in rows]
    return [row for row in named if not any(n in BASE_MODULES for n in row)] + [[BASE]]


BASE_MODULES = {"bundle", "modelio", "profiles", "presets", "settings", "onnx_session",
                "config", "files", "_world", "errors"}


def box_of(module: str, subpackages: set[str]) -> str | None:
    """The subpackage a module lies in, "base" for a top-level module, None for the package."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return parts[1] if parts[1] in subpackages else BASE


def reduce(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Drop a -> c where a reaches c through another box."""
    def reaches(a: str, c: str, skip: tuple[str, str]) -> bool:
        todo, seen = [a], set()
        while todo:
            node = todo.pop()
            for x, y in edges:
                if x == node and (x, y) != skip and y not in seen:
                    if y == c:
                        return True
                    seen.add(y)
                    todo.append(y)
        return False
    return {e for e in edges if not reaches(*e, skip=e)}


def main(target: Path) -> None:
    import grimp
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = layers()
    subpackages = {name for row in rows for name in row} - {BASE}
    graph = grimp.build_graph("rtconvert")
    counts: dict[str, int] = {}
    edges = set()
    for module in graph.modules:
        source = box_of(module, subpackages)
        if source is None:
            continue
        counts[source] = counts.get(source, 0) + 1
        for imported in graph.find_modules_directly_imported_by(module):
            box = box_of(imported, subpackages)
            if box and box != source:
                edges.add((source, box))
    shown = reduce(edges)
    position = {name: ((i + 0.5) / len(row), 1.0 - (level + 0.5) / len(rows))
                for level, row in enumerate(rows) for i, name in enumerate(row)}
    figure, axes = plt.subplots(figsize=(8, 7))
    axes.set_axis_off()
    for source, imported in sorted(shown):
        (x0, y0), (x1, y1) = position[source], position[imported]
        axes.annotate("", xy=(x1, y1 + 0.035), xytext=(x0, y0 - 0.035),
                      arrowprops=dict(arrowstyle="->", color="#777777", lw=1.0,
                                      connectionstyle="arc3,rad=0.15"))
    for name, (x, y) in position.items():
        detail = (", ".join(sorted(BASE_MODULES)) if name == BASE
                  else f"{counts.get(name, 0)} modules")
        if name == BASE:
            detail = detail.replace(", config", ",\nconfig")
        axes.text(x, y, f"{name}/\n{detail}" if name != BASE else f"{name}: {detail}",
                  ha="center", va="center", fontsize=9,
                  bbox=dict(boxstyle="round,pad=0.45", fc="#e8f0fe", ec="#3c4a5c"))
    axes.set_title(f"rtconvert: {len(graph.modules)} modules in layers; each imports only "
                   "those below it", fontsize=11)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    print(f"wrote {target}: {len(position)} boxes, {len(edges)} imports between them, "
          f"{len(shown)} drawn (the others go through a box in between)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/layers.png"))
