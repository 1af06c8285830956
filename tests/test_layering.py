"""Dependencies point one way (docs: DESIGN.md "Layers"):

    cli -> compare / sweep / report -> profile / estimate / measure -> graph / costs / zoo / hardware specs

with the results store used by sweep, compare, report and the cli only. Every ``import`` of every module under
src/fitbench is read with ``ast`` (imports inside functions count too: a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# unit -> layer. A unit is the second component of a module name (fitbench.<unit>...), except that the
# estimator sits one layer above the hardware specs it reads.
LAYERS = {
    "errors": -1,  # imports nothing of fitbench
    "fitbench": 0, "precision": 0, "_callable": 0, "_checks": 0, "_gc": 0, "yaml_file": 0, "tempdirs": 0,  # helpers
    "format": 0, "model_ref": 0,  # how numbers and units print (CLI, compare, report alike); model references
    "graph": 1, "costs": 1, "zoo": 1, "hardware": 1, "model_source": 1,  # workload IR, op costs, specs
    "store": 1,  # results database: knows nothing of the engines
    "profile": 2, "hardware.estimator": 2, "measure": 2,  # the three engines
    "compare": 3, "sweep": 3, "report": 3, "validation": 3, "kit": 3,  # use the engines
    "cli": 4,
}
# a unit may import lower layers, except these (and anything not listed in ALLOWED_SAME_LAYER of its own layer)
FORBIDDEN = {
    "store": {"graph", "costs", "zoo", "hardware", "model_source"},  # stores any result, imports no engine
    "graph": {"store"}, "costs": {"store"}, "zoo": {"store"}, "hardware": {"store"}, "model_source": {"store"},
    "profile": {"store"}, "hardware.estimator": {"store"}, "measure": {"store"},
}
ALLOWED_SAME_LAYER = {
    ("costs", "graph"), ("model_source", "graph"), ("zoo", "graph"), ("hardware", "graph"),
    ("report", "compare"),  # the report renders a Comparison; compare never imports the report
    ("validation", "compare"),  # hold-out LLM points are scored with compare.llm's estimate; compare never imports it
}


def unit_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "fitbench"
    if parts[1] == "hardware" and parts[2:3] == ["estimator"]:
        return "hardware.estimator"
    return parts[1]


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted((SRC / "fitbench").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def imports(module: str, path: Path) -> set[str]:
    """Absolute names of the fitbench modules (or module.attribute) that ``module`` imports."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.module:
                    found.add(".".join([*base, node.module]))
                else:  # from . import x: x may be a submodule
                    found |= {".".join([*base, a.name]) for a in node.names}
            elif node.module:
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return {name for name in found if name == "fitbench" or name.startswith("fitbench.")}


@functools.cache
def edges() -> frozenset[tuple[str, str, str]]:
    """(importing unit, imported unit, importing module) for every import across units."""
    out = set()
    for module, path in modules():
        src = unit_of(module)
        for target in imports(module, path):
            dst = unit_of(target)
            if dst != src and not (target.startswith("fitbench.") and target.split(".")[1].startswith("__")):
                out.add((src, dst, module))
    return frozenset(out)


def allowed(src: str, dst: str) -> bool:
    if dst in FORBIDDEN.get(src, set()):
        return False
    if LAYERS[dst] < LAYERS[src]:
        return True
    return (src, dst) in ALLOWED_SAME_LAYER


def test_every_module_has_a_layer():
    assert {unit_of(m) for m, _ in modules()} <= set(LAYERS)


def test_the_reader_sees_imports():
    """The parser is not vacuous: known dependencies are found, relative and lazy ones included."""
    found = {(s, d) for s, d, _ in edges()}
    assert {("cli", "compare"), ("compare", "profile"), ("costs", "graph"), ("sweep", "store")} <= found
    assert not allowed("graph", "cli") and not allowed("compare", "report") and allowed("report", "compare")


@pytest.mark.parametrize("lower", sorted(LAYERS, key=lambda u: (LAYERS[u], u)))
def test_no_lower_layer_imports_an_upper_one(lower):
    bad = sorted(f"{module} imports fitbench.{dst}" for src, dst, module in edges()
                 if src == lower and not allowed(src, dst))
    assert bad == []


@pytest.mark.parametrize("unit,forbidden", [
    ("graph", {"compare", "report", "sweep", "cli", "store", "profile", "measure"}),
    ("costs", {"compare", "report", "sweep", "cli", "store", "profile", "measure"}),
    ("zoo", {"compare", "report", "sweep", "cli", "store", "profile", "measure"}),
    ("hardware", {"compare", "report", "sweep", "cli", "store", "profile", "measure"}),
    ("profile", {"compare", "report", "sweep", "cli", "store"}),
    ("measure", {"compare", "report", "sweep", "cli", "store"}),
    ("hardware.estimator", {"compare", "report", "sweep", "cli", "store"}),
    ("compare", {"report", "sweep", "cli"}),
    ("sweep", {"compare", "report", "cli"}),
    ("report", {"sweep", "cli"}),
    ("store", {"profile", "measure", "hardware.estimator", "compare", "sweep", "report", "cli"}),
])
def test_the_layer_rules_written_out(unit, forbidden):
    """The same rules as a table, as the design states them (independent of LAYERS)."""
    imported = {dst for src, dst, _ in edges() if src == unit}
    assert imported & forbidden == set()
