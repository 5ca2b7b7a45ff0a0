"""The package's layers (README: How the code is laid out): every import points down, none in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tsharkpost"

# Top to bottom; a module may import from its own layer's package or from any layer below.
LAYERS = [
    ["cli"],
    ["commands"],
    ["render"],
    ["summary"],
    ["diff", "timeline", "explain", "wireshark"],
    ["capture", "events"],
    ["record"],
    ["plugin"],
    ["errors", "backups"],
    ["__init__"],  # the version
]


def _unit(module: str) -> str:
    """The layer unit of a dotted module name under tsharkpost: its first part."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _rank(unit: str) -> int:
    return next(rank for rank, names in enumerate(LAYERS) if unit in names)


def _target(module: str, name: str) -> str:
    """What `from MODULE import NAME` depends on: the submodule NAME when there is one, else MODULE."""
    folder = PACKAGE.parent.joinpath(*module.split("."))
    return f"{module}.{name}" if (folder / name).is_dir() or (folder / f"{name}.py").is_file() else module


def _imports() -> dict[str, set[str]]:
    """tsharkpost module -> the tsharkpost modules it imports."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(part for part in relative.parts if part != "__init__") if relative.name == "__init__" \
            else ".".join(relative.parts)
        targets = found.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tsharkpost"):
                targets.update(_target(node.module, alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name.startswith("tsharkpost"))
    return found


def test_every_package_is_in_a_layer() -> None:
    units = {_unit(module) for module in _imports()}
    assert units <= {name for names in LAYERS for name in names}, units


def test_imports_point_down_the_layers() -> None:
    upward = []
    for module, targets in _imports().items():
        for target in targets:
            here, there = _unit(module), _unit(target)
            if here != there and _rank(there) <= _rank(here) and not (here == "__init__" or there == "__init__"):
                upward.append(f"{module} -> {target}")
    assert not upward, upward


def test_no_import_cycles() -> None:
    imports = _imports()
    graph = {module: {target for target in targets if target in imports} for module, targets in imports.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles
