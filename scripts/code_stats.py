"""Code statistics of the `sim` package: size, the largest functions, the import graph.

    python scripts/code_stats.py            # lines, largest functions, layers, circles
    python scripts/code_stats.py --edges    # every import edge between sim modules

Every `import sim.x` / `from sim.x import ...` counts, at module level or inside a
function. Each module belongs to a layer (LAYERS); a module may import its own layer or
the layers below it, never above, and the graph of modules has no circles.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sim"

#: Layers from the bottom up; a module's layer is that of its longest matching prefix.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("sim._version", "sim.errors", "sim.interrupts", "sim.plugins", "sim.memo", "sim.params", "sim.schema", "sim.economics", "sim.distributions", "sim.config",
              "sim.arguments", "sim.config_tree", "sim.config_errors", "sim.config_checks", "sim.config_objects", "sim.ranges",
              "sim.realoptions.lsm")),  # least-squares Monte Carlo: numpy only
    ("model", ("sim.boundary", "sim.world", "sim.view", "sim.processes", "sim.strategies", "sim.record", "sim.fleet",
               "sim.leases", "sim.construction", "sim.site", "sim.tenants", "sim.ledger",
               "sim.cloud", "sim.demand_response", "sim.valuation", "sim.finance",
               "sim.realoptions")),  # the real-option strategy; its lsm module is base
    ("run", ("sim.executors", "sim.gathered", "sim.memory", "sim.policies", "sim.rundir", "sim.result", "sim.selection", "sim.montecarlo",
             "sim.backtest", "sim.btc_closes", "sim.coverage",  # hashpivot-backtest
             "sim.calibrate")),  # hashpivot-calibrate: fits the model processes to history
    ("compare", ("sim.compare",  # with its own command line, sim.compare.cli
                 "sim.optimize",  # hashpivot-optimize: sim.run per trial, paired stats of sim.compare
                 "sim.explore")),  # hashpivot-explore: sim.run per design point, PRIM, Sobol' indices
    ("cli", ("sim.cli", "sim")),  # "sim": the package's own __init__ (the public API) only
)


def module_name(path: Path) -> str:
    """Return the dotted module name of a file of the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Return {module name: file} for every module of `sim`."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """Return the index of `module`'s layer in LAYERS (its longest matching prefix)."""
    best, index = "", -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            below = module.startswith(prefix + ".") and prefix != "sim"
            if (module == prefix or below) and len(prefix) > len(best):
                best, index = prefix, i
    if index < 0:
        raise KeyError(f"{module}: in no layer; add it to LAYERS in scripts/code_stats.py")
    return index


def imports(path: Path, known: set[str]) -> set[str]:
    """Return the `sim` modules that the file at `path` imports, anywhere in it."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != "sim":
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    """Return {module: the sim modules it imports} (a package's own __init__ left out)."""
    found = modules()
    known = set(found)
    return {name: {m for m in imports(path, known) if m != name and not name.startswith(m + ".")}
            for name, path in found.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Return the imports that go up a layer, as 'a (layer) -> b (layer)'."""
    names = [n for n, _ in LAYERS]
    return sorted(f"{a} ({names[layer(a)]}) -> {b} ({names[layer(b)]})"
                  for a, targets in edges.items() for b in targets if layer(b) > layer(a))


def functions() -> list[tuple[int, str]]:
    """Return (lines, 'module.function') for every function of the package, longest first."""
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((child.end_lineno - child.lineno + 1, f"{prefix}.{child.name}"))
                visit(child, f"{prefix}.{child.name}")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}.{child.name}")
            else:
                visit(child, prefix)

    for name, path in modules().items():
        visit(ast.parse(path.read_text()), name)
    return sorted(out, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", action="store_true", help="print every import edge")
    args = parser.parse_args()
    files = modules()
    lines = sum(len(p.read_text().splitlines()) for p in files.values())
    print(f"sim/: {len(files)} modules, {lines:,} lines")
    print("largest functions: " + ", ".join(f"{f} ({n} lines)" for n, f in functions()[:5]))
    edges = graph()
    if args.edges:
        for a in sorted(edges):
            print(f"  {a} -> {', '.join(sorted(edges[a])) or '-'}")
    found = circles(edges)
    print("circles: " + ("; ".join(" <-> ".join(c) for c in found) if found else "none"))
    up = upward(edges)
    print("imports up a layer: " + ("none" if not up else f"{len(up)}\n  " + "\n  ".join(up)))


if __name__ == "__main__":
    main()
