"""The architecture as the README draws it: which part of the package may import which (README, "Architecture")."""

from __future__ import annotations

import ast

from pipeline.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "pipeline"

# Each part and the parts it may import (besides itself and the package root's __version__).
ALLOWED = {
    "errors": set(),
    "files": set(),
    "records": {"errors"},
    "config": {"records", "errors"},
    "text": {"records", "errors"},
    "lib": {"records", "config", "text", "errors", "files"},
    "engine": {"records", "config", "text", "lib", "errors", "files"},
    "stages": {"engine", "lib", "text", "records", "config", "errors", "files"},
    "plan": {"stages", "engine", "config", "records"},
    "search": {"records", "config", "text", "lib", "engine", "errors", "files"},
    "report": {"records", "config", "engine", "errors", "files"},
    "cli": {"plan", "engine", "search", "report", "lib", "text", "records", "config", "errors", "files"},
    "__main__": {"cli"},
}


def part(module: str) -> str | None:
    """'pipeline.lib.dedup' -> 'lib'; None for the package root and for other packages."""
    pieces = module.split(".")
    return pieces[1] if pieces[0] == "pipeline" and len(pieces) > 1 else None


def imports(path):
    """(module, names) of every import in a file, function-level ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, set()


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.name == "__init__.py" and len(relative.parts) == 1:
            continue
        yield path, relative.parts[0].removesuffix(".py")


def test_every_part_is_known():
    assert {p for _, p in modules()} == set(ALLOWED)


def test_each_part_imports_only_what_the_architecture_allows():
    wrong = []
    for path, owner in modules():
        for module, _ in imports(path):
            target = part(module)
            if target and target != owner and target not in ALLOWED[owner]:
                wrong.append(f"{path.relative_to(PROJECT_ROOT)} imports {module}")
    assert wrong == []


def test_only_the_plan_imports_stages():
    importers = {path.relative_to(PACKAGE).as_posix() for path, owner in modules() if owner != "stages"
                 for module, _ in imports(path) if part(module) == "stages"}  # fmt: skip
    assert importers == {"plan.py"}


def test_library_code_never_sees_an_episode():
    """lib/ holds pure algorithms over plain values; wiring them to the Episode record is the stages' job."""
    wrong = [path.relative_to(PROJECT_ROOT).as_posix() for path, owner in modules() if owner == "lib"
             for module, names in imports(path) if module.startswith("pipeline.records") and "Episode" in names]  # fmt: skip
    assert wrong == []
