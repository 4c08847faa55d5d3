"""The apps stand in one-way layers, read from their imports (every import, those inside functions included):

    monid_site  <-  providers, billing  <-  runs  <-  ops

- monid_site is the base (settings, URLs, errors, pagination, middleware, logging, metric counters, the shared
  template tags): it imports no app of ours; its URLconf names the apps' URL modules as strings.
- providers and billing stand side by side on monid_site, and neither imports the other.
- runs stands on providers and billing (a run calls an endpoint and is paid from a wallet).
- ops (metrics' gauges, the operators' pages, probes, `doctor`, the MCP server) reads every app and none reads it.

No app imports another's private names (a `_module` or a `_name`). Migrations and tests are not walked: a
migration may name any app's historical models, and a test any module it tests.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["monid_site", "providers", "billing", "runs", "ops"]
ALLOWED = {
    "monid_site": set(),
    "providers": {"monid_site"},
    "billing": {"monid_site"},
    "runs": {"monid_site", "providers", "billing"},
    "ops": {"monid_site", "providers", "billing", "runs"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if {"migrations", "tests"} & set(path.relative_to(ROOT / app).parts):
                continue
            yield app, path


def imports_of(path: Path):
    """Every import in a module, at any depth (a lazy import is a dependency all the same), as (line, the module
    imported, the names imported from it), with relative imports made absolute."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield node.lineno, target, [alias.name for alias in node.names]


def edges():
    """(importing app, imported app, where, the module imported, the names) for every import between two apps."""
    found = []
    for app, path in app_modules():
        for line, target, names in imports_of(path):
            imported = target.split(".")[0]
            if imported in APPS and imported != app:
                found.append((app, imported, f"{path.relative_to(ROOT)}:{line}", target, names))
    return found


def cycle_of(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the app graph (its apps in order, the first repeated at the end), or None."""
    done, path = set(), []

    def visit(app):
        if app in path:
            return path[path.index(app) :] + [app]
        if app in done:
            return None
        path.append(app)
        for imported in sorted(graph.get(app, ())):
            if cycle := visit(imported):
                return cycle
        path.pop()
        done.add(app)
        return None

    for app in sorted(graph):
        if cycle := visit(app):
            return cycle
    return None


def test_the_walker_sees_imports_at_any_depth_and_relative_ones(tmp_path):
    runs_edges = {(imported, target) for app, imported, _, target, _ in edges() if app == "runs"}
    assert ("providers", "providers.models") in runs_edges
    module = ROOT / "runs" / "services.py"
    assert any(target == "runs.models" for _, target, _ in imports_of(module))  # `from .models import ...`


def test_the_cycle_finder_finds_a_cycle():
    assert cycle_of({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_of({"a": {"b"}, "b": set()}) is None


def test_no_cycle_between_apps():
    found = edges()
    graph = {app: {imported for importer, imported, *_ in found if importer == app} for app in APPS}
    cycle = cycle_of(graph)
    where = [
        f"{app} -> {imported}: {at} ({target})"
        for app, imported, at, target, _ in found
        if cycle and any((app, imported) == pair for pair in zip(cycle, cycle[1:]))
    ]
    assert cycle is None, f"Apps import each other round {' -> '.join(cycle)}:\n" + "\n".join(where)


def test_monid_site_imports_no_app():
    wrong = [f"{at} imports {target}" for app, _, at, target, _ in edges() if app == "monid_site"]
    assert not wrong, "monid_site is the base every app stands on:\n" + "\n".join(wrong)


def test_each_app_imports_only_the_layers_below_it():
    wrong = [
        f"{at}: {app} imports {target}" for app, imported, at, target, _ in edges() if imported not in ALLOWED[app]
    ]
    assert not wrong, "\n".join(wrong)


def test_no_app_imports_another_apps_private_names():
    wrong = [
        f"{at} imports {target} {names}"
        for _, _, at, target, names in edges()
        if any(part.startswith("_") for part in target.split(".")[1:]) or any(name.startswith("_") for name in names)
    ]
    assert not wrong, "\n".join(wrong)
