"""The package's layout: each package states its job and what it must never import, and holds to it.

A package's docstring ends with a line ``Never imports: a, b, c.``; this test reads that line and
checks every ``import`` in the package's source, module level or inside a function, against it. A
name is a top-level module (``mlflow``), or a pipeline package or module (``pipeline.runs``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pipeline import names

PACKAGE = Path(names.__file__).resolve().parent
NEVER = re.compile(r"^Never imports: (?P<names>[\w., ]+)\.$", re.MULTILINE)
#: The rules the architecture rests on: a package may add to them in its docstring, never drop one.
REQUIRED = {
    "spec": {"tensorflow", "keras", "mlflow"},
    "data": {"tensorflow", "keras", "mlflow"},
    "search": {"tensorflow", "keras", "mlflow"},
    "diagnostics": {"tensorflow", "keras", "mlflow"},
    "tracking": {"pipeline.runs", "pipeline.report", "pipeline.diagnostics", "pipeline.training", "pipeline.sweep"},
    "report": {"pipeline.training", "tensorflow", "keras"},
    "runs": {"mlflow", "tensorflow", "keras"},
}
#: Packages other than tracking/ never import MLflow (the one boundary); test code and bench may.
MLFLOW_ONLY_IN = "tracking"
MAX_TOP_LEVEL_MODULES = 8


def _packages() -> list[Path]:
    return sorted(path.parent for path in PACKAGE.glob("*/__init__.py"))


def _rule(package: Path) -> set[str]:
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    found = NEVER.search(doc)
    return {name.strip() for name in found.group("names").split(",")} if found else set()


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with its line: absolute names, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _breaks(module: str, forbidden: set[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in forbidden)


@pytest.mark.parametrize("package", [path.name for path in _packages()])
def test_each_package_states_its_job_and_its_import_rule(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert len(doc.splitlines()[0]) > 20, f"pipeline/{package}/__init__.py: the first line says the package's job"
    assert NEVER.search(doc), f"pipeline/{package}/__init__.py: no 'Never imports: ….' line"
    assert REQUIRED.get(package, set()) <= _rule(PACKAGE / package), f"{package}: a required rule was dropped"


@pytest.mark.parametrize("package", [path.name for path in _packages()])
def test_each_package_keeps_its_import_rule(package):
    forbidden = _rule(PACKAGE / package) | ({"mlflow"} if package != MLFLOW_ONLY_IN else set())
    broken = [f"{path.relative_to(PACKAGE.parent)}:{line}: imports {module}"
              for path in sorted((PACKAGE / package).rglob("*.py"))
              for line, module in _imports(path) if _breaks(module, forbidden)]
    assert broken == []


def test_no_top_level_module_but_tracking_imports_mlflow():
    broken = [f"{path.name}:{line}" for path in sorted(PACKAGE.glob("*.py"))
              for line, module in _imports(path) if _breaks(module, {"mlflow"})]
    assert broken == []


def test_the_top_level_holds_few_modules():
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_the_rule_reader_catches_a_forbidden_import(tmp_path):
    """The checks above could pass by reading nothing; this one shows they see a breach."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import mlflow.tracking\n    from pipeline.runs import trial_payload\n")
    found = [name for _, name in _imports(module)]
    assert _breaks(found[0], {"mlflow"}) and _breaks(found[1], {"pipeline.runs"})
    assert not _breaks("mlflowx", {"mlflow"})


def test_no_module_or_function_is_too_long():
    """No module over 400 lines, no function over 100: each says one thing."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400:
            long.append(f"{path.relative_to(PACKAGE.parent)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 100:
                long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.name} "
                            f"{node.end_lineno - node.lineno + 1} lines")
    assert long == []
