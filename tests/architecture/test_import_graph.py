"""softgrad's imports run one way, down the layers of docs/architecture.md, with no cycles.

The test reads every ``import`` in ``softgrad/`` with ``ast`` (nothing is imported), maps each
module to its layer and fails on an import cycle, on an import of a higher layer, and on an
import of a softgrad module inside a function in the core layers (backend to the ``sg.*``
namespace), where such an import could only be hiding a cycle. Imports under
``if TYPE_CHECKING:`` are for annotations only and are not edges.

Importing ``softgrad.a.b`` from outside package ``softgrad.a`` runs ``softgrad/a/__init__.py``
first, so that counts as an import of ``softgrad.a`` too: a package's ``__init__`` may re-export
only what its importers may import. (The root ``softgrad/__init__.py`` always runs first and
imports the layers in order; it is the top of the library.)

Run it as a script to print the numbers: ``python tests/architecture/test_import_graph.py``.
"""
from __future__ import annotations

import ast
import fnmatch
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "softgrad"

# Bottom to top. A module may import from its own layer (without a cycle) and from the layers
# below it. Patterns are fnmatch patterns on dotted module names; the first match wins.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("backend", ("softgrad.backend", "softgrad.backend_*", "softgrad.dtypes", "softgrad.dtype_info",
                 "softgrad.devices", "softgrad.size", "softgrad.version",
                 "softgrad.backend_threads", "softgrad.backends",
                 "softgrad.backends.*")),
    ("autograd engine", ("softgrad.engine", "softgrad.engine.*")),
    ("ops", ("softgrad.ops", "softgrad.ops.*")),
    ("tensor", ("softgrad.tensor", "softgrad.tensor.*")),
    ("sg namespace", ("softgrad.functions", "softgrad.function_forms", "softgrad.functions_more",
                      "softgrad.creation", "softgrad.random", "softgrad.sampling",
                      "softgrad.special", "softgrad.linalg", "softgrad.interop", "softgrad.sparse",
                      "softgrad.testing", "softgrad.jit",
                      "softgrad.autograd", "softgrad.autograd.*", "softgrad.amp",
                      "softgrad.amp.*", "softgrad.cuda", "softgrad.cuda.*",
                      "softgrad.accelerator", "softgrad.compiler", "softgrad.distributed",
                      "softgrad.distributed.*", "softgrad.utils.checkpoint")),
    ("nn.functional", ("softgrad.nn.functional", "softgrad.nn.functional.*")),
    ("nn modules", ("softgrad.nn", "softgrad.nn.*", "softgrad.distributions",
                    "softgrad.distributions.*", "softgrad.utils.model_summary")),
    ("optim", ("softgrad.optim", "softgrad.optim.*")),
    ("serialization", ("softgrad.serialization", "softgrad.serialization.*")),
    ("data", ("softgrad.utils", "softgrad.utils.*", "softgrad.datasets", "softgrad.datasets.*")),
    ("export", ("softgrad.onnx", "softgrad.onnx.*")),
    ("softgrad package", ("softgrad",)),
    ("experiments", ("softgrad.experiments", "softgrad.experiments.*")),
    ("cli", ("softgrad.cli", "softgrad.__main__")),
]
NO_LAZY_IMPORTS = "sg namespace"  # up to this layer, no softgrad import inside a function



@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool
    implicit: bool = False  # the package __init__ an import runs, not the module it names


def _module_names() -> dict[str, Path]:
    names = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST, in_function: bool = False):
    """Every ``import`` statement under ``node`` that runs, with whether it is in a function."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for sub in child.orelse:
                yield from _import_nodes(sub, in_function)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        else:
            yield from _import_nodes(child, in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))


def _packages_entered(importer: str, target: str, names: dict[str, Path]) -> list[str]:
    """The packages above ``target`` (below the root) whose ``__init__`` an import of
    ``target`` by ``importer`` runs: those ``importer`` is not inside."""
    parts = target.split(".")
    out = []
    for k in range(2, len(parts)):
        package = ".".join(parts[:k])
        if names[package].name == "__init__.py" and not (
                importer == package or importer.startswith(package + ".")):
            out.append(package)
    return out


@functools.cache
def read_imports() -> tuple[list[str], list[Import]]:
    """Every softgrad module, and every import of a softgrad module in them."""
    names = _module_names()

    def resolve(name: str) -> str | None:
        while name and name not in names:
            name = name.rpartition(".")[0]
        return name or None

    found: set[Import] = set()
    for module, path in names.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node, in_function in _import_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in names else base
                           for a in node.names]
            for target in targets:
                resolved = resolve(target) if target.split(".")[0] == "softgrad" else None
                if resolved is None or resolved == module:
                    continue
                found.add(Import(module, resolved, node.lineno, in_function))
                for package in _packages_entered(module, resolved, names):
                    found.add(Import(module, package, node.lineno, in_function, True))
    return sorted(names), sorted(found, key=lambda i: (i.source, i.line, i.target))


def layer_of(module: str) -> int:
    for rank, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return rank
    raise LookupError(f"{module} is in no layer: add it to LAYERS in {__file__} and to "
                      "docs/architecture.md")


def cycles(modules: list[str], imports: list[Import]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    graph: dict[str, list[str]] = {m: [] for m in modules}
    for imp in imports:
        graph[imp.source].append(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def upward(imports: list[Import]) -> list[Import]:
    return [i for i in imports if layer_of(i.target) > layer_of(i.source)]


def hidden(imports: list[Import]) -> list[Import]:
    """Imports inside functions in the layers where none may be."""
    limit = [name for name, _ in LAYERS].index(NO_LAZY_IMPORTS)
    return [i for i in imports if i.in_function and layer_of(i.source) <= limit]


def _report(items: list[Import]) -> str:
    return "\n".join(f"  {i.source}:{i.line} imports {i.target}" for i in items)


def test_every_module_has_a_layer() -> None:
    modules, _ = read_imports()
    for m in modules:
        layer_of(m)


def test_no_import_cycles() -> None:
    modules, imports = read_imports()
    found = cycles(modules, imports)
    assert not found, "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def test_imports_run_down_the_layers() -> None:
    _, imports = read_imports()
    bad = upward(imports)
    assert not bad, "imports of a higher layer (see docs/architecture.md):\n" + _report(bad)


def test_no_imports_hidden_in_functions_in_the_core() -> None:
    _, imports = read_imports()
    bad = hidden(imports)
    assert not bad, "softgrad imports inside functions (move them to the top):\n" + _report(bad)


def main() -> None:
    modules, imports = read_imports()
    found = cycles(modules, imports)
    explicit = [i for i in imports if not i.implicit]
    print(f"modules: {len(modules)}, imports of softgrad modules: {len(explicit)} "
          f"(and {len(imports) - len(explicit)} package __init__ they run)")
    print(f"import cycles: {len(found)} (modules in them: {sum(len(c) for c in found)})")
    for c in found:
        print("  " + ", ".join(c))
    up = upward(imports)
    print(f"imports against the layer order: {len(up)}")
    print(_report(up))
    inner = [i for i in imports if i.in_function and not i.implicit]
    print(f"softgrad imports inside functions: {len(inner)} "
          f"({len([i for i in hidden(imports) if not i.implicit])} in the core layers)")
    if "-v" in sys.argv:
        print(_report(inner))


if __name__ == "__main__":
    main()
