"""Which package may import which (docs/architecture.md, "Layout and import
rules"), checked on the source with ``ast``: a change that makes ``mail`` read
a domain, the kernel depend on the app, two packages import each other, or a
module hide an import inside a function fails here with the offending line."""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Bottom to top. A unit (a package under campaigns/, or a module directly in
# it) may import units of its own layer or of a lower one, never a higher one.
LAYERS: dict[str, set[str]] = {
    "kernel": {"kernel"},
    "infrastructure": {
        "config",
        "extensions",
        "models",
        "upsert",
        "cache",
        "forms",
        "security",
        "assets",
        "i18n",
        "privacy",
        "site_settings",
        "campaign_cache",
        "outbox",
        "tokens",
        "jobs",
        "tasks",
        "scheduler",
        "mail",
    },
    "domain": {
        "accounts",
        "counting",
        "signing",
        "moderation",
        "paper",
        "kiosk",
        "updates",
        "exports",
        "results",
        "sharing",
        "retention",
        "media",
        "outcomes",
        "ledger",
        "reach",
        "demo",
        "seed",
    },
    "interface": {"console", "api", "site"},
}
# The composition roots wire everything together: they may import any unit,
# at module level or inside the factory, and nothing but a root imports them.
ROOTS = {"campaigns", "campaigns.cli", "workers"}
ROOT_FILES = {"campaigns/__init__.py", "campaigns/cli.py", "workers/__init__.py"}


@dataclass(frozen=True)
class Import:
    source: str  # the importing unit
    target: str  # the imported unit
    where: str  # file:line
    nested: bool  # inside a function or class body


def unit_of(module: str) -> str:
    """``campaigns.signing.views`` → ``signing``; the roots keep their name."""
    if module in ROOTS:
        return module
    if module.split(".")[0] == "workers":
        return "workers"
    return module.split(".")[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> list[Import]:
    module = module_name(path)
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested_nodes = {
        id(inner)
        for outer in ast.walk(tree)
        if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for inner in ast.walk(outer)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                targets = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                targets = [node.module or ""]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] not in {"campaigns", "workers"}:
                continue
            found.append(
                Import(
                    unit_of(module),
                    unit_of(target),
                    f"{path.relative_to(REPO)}:{node.lineno}",
                    id(node) in nested_nodes,
                )
            )
    return found


def all_imports() -> list[Import]:
    files = sorted((REPO / "campaigns").rglob("*.py")) + sorted((REPO / "workers").rglob("*.py"))
    return [imp for path in files for imp in imports_of(path)]


def layer_of(unit: str) -> int | None:
    for rank, units in enumerate(LAYERS.values()):
        if unit in units:
            return rank
    return None


def test_every_unit_has_a_layer() -> None:
    units = {imp.source for imp in all_imports()} | {imp.target for imp in all_imports()}
    missing = sorted(u for u in units if u not in ROOTS and layer_of(u) is None)
    assert not missing, f"add these to LAYERS (and docs/architecture.md): {missing}"


def test_no_unit_imports_a_higher_layer() -> None:
    wrong = [
        f"{imp.where}: {imp.source} ({list(LAYERS)[layer_of(imp.source) or 0]}) imports "
        f"{imp.target} ({list(LAYERS)[layer_of(imp.target) or 0]})"
        for imp in all_imports()
        if imp.source not in ROOTS
        and imp.target not in ROOTS
        and (layer_of(imp.target) or 0) > (layer_of(imp.source) or 0)
    ]
    assert not wrong, "\n".join(wrong)


def test_only_roots_import_roots() -> None:
    wrong = [
        f"{imp.where}: {imp.source} imports the composition root {imp.target}"
        for imp in all_imports()
        if imp.target in ROOTS and imp.source not in ROOTS and imp.target != imp.source
    ]
    assert not wrong, "\n".join(wrong)


def test_kernel_imports_nothing_of_the_app() -> None:
    wrong = [
        f"{imp.where}: kernel imports {imp.target}"
        for imp in all_imports()
        if imp.source == "kernel" and imp.target != "kernel"
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_units() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for imp in all_imports():
        if imp.source != imp.target and imp.source not in ROOTS and imp.target not in ROOTS:
            graph[imp.source].add(imp.target)
            where.setdefault((imp.source, imp.target), imp.where)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            unit = stack.pop()
            if unit == goal:
                return True
            if unit not in seen:
                seen.add(unit)
                stack.extend(graph[unit])
        return False

    cycles = sorted(
        f"{where[(a, b)]}: {a} imports {b}, and {b} leads back to {a}"
        for a in list(graph)
        for b in sorted(graph[a])
        if reaches(b, a)
    )
    assert not cycles, "\n".join(cycles)


def test_no_function_level_imports_outside_the_roots() -> None:
    wrong = [
        f"{imp.where}: imports {imp.target} inside a function or class"
        for imp in all_imports()
        if imp.nested and imp.where.split(":")[0] not in ROOT_FILES
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ..signing.services import x\n", ("mail", "signing")),
        ("def f():\n    from ..kernel import regions\n", ("mail", "kernel")),
    ],
)
def test_the_checker_sees_relative_and_nested_imports(
    tmp_path: Path, source: str, expected: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker itself: a relative import from campaigns/mail/ resolves to its
    unit, and a nested one is marked as such."""
    fake_repo = tmp_path
    (fake_repo / "campaigns" / "mail").mkdir(parents=True)
    module = fake_repo / "campaigns" / "mail" / "services.py"
    module.write_text(source)
    monkeypatch.setattr(f"{__name__}.REPO", fake_repo)
    (found,) = imports_of(module)
    assert (found.source, found.target) == expected
    assert found.nested == source.startswith("def")
