"""The package as a whole: importing it changes nothing global; tag and metric names live only in names.py."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline import names

PACKAGE = Path(names.__file__).resolve().parent
#: ``python -m pipeline`` runs the CLI when imported, so it is not imported here.
NOT_IMPORTED = ("pipeline.__main__",)
#: Metric names defined in names.py as constants (the ``*_TAG`` constants are found by their suffix).
METRIC_CONSTANTS = (
    "RUNNING_LOSS", "TRAIN_LOSS", "VAL_LOSS", "BEST_EPOCH", "TRAIN_SECONDS", "RECOMMENDED_EPOCHS", "VARIANCE_GAP",
    "N_TRIALS", "N_FINISHED", "N_FAILED", "N_SKIPPED", "SWEEP_SECONDS", "REFERENCE_ERROR", "VARIANCE_GAP_SE",
    "AVOIDABLE_BIAS", "REGRET", "EPOCHS_SAVED", "CONVERGED", "BIAS_DECIDED",
)

# Runs in a fresh interpreter: imports the third-party modules the package imports at module level,
# snapshots the environment and every logger's level, imports every pipeline module, and prints what changed.
_IMPORT_PROBE = """
import importlib, json, logging, os, sys
modules, third_party = json.loads(sys.argv[1])
for name in third_party:
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # an optional extra, or a name imported from a module rather than a module

def levels():
    found = {"": logging.getLogger().level}
    found.update({name: logger.level for name, logger in logging.Logger.manager.loggerDict.items()
                  if isinstance(logger, logging.Logger)})
    return found

environ_before, levels_before = dict(os.environ), levels()
for name in modules:
    importlib.import_module(name)
environ_after, levels_after = dict(os.environ), levels()
print(json.dumps({
    "environ": {key: [environ_before.get(key), environ_after.get(key)]
                for key in sorted(set(environ_before) | set(environ_after))
                if environ_before.get(key) != environ_after.get(key)},
    "logger_levels": {name: [levels_before.get(name, logging.NOTSET), level]
                      for name, level in sorted(levels_after.items())
                      if level != levels_before.get(name, logging.NOTSET)},
}))
"""


def _module_name(path: Path) -> str:
    parts = path.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[Path, ast.Module]:
    """Every module under pipeline/, by path relative to the repository, parsed."""
    return {path.relative_to(PACKAGE.parent): ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for path in sorted(PACKAGE.rglob("*.py"))}


class _ModuleLevelImports(ast.NodeVisitor):
    """Modules a module imports when it is imported (not inside functions), outside the package."""

    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_FunctionDef(self, node) -> None:  # runs when called, not when imported
        pass

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(alias.name for alias in node.names if alias.name.split(".")[0] != "pipeline")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module and node.module.split(".")[0] != "pipeline":
            self.found.update([node.module, *(f"{node.module}.{alias.name}" for alias in node.names)])


def test_importing_any_module_changes_no_global_state():
    sources = _sources()
    modules = [_module_name(path) for path in sources if _module_name(path) not in NOT_IMPORTED]
    imports = _ModuleLevelImports()
    for tree in sources.values():
        imports.visit(tree)
    # a bare environment, so that a module's os.environ.setdefault shows even where the caller set that variable
    environ = {key: os.environ[key] for key in ("PATH", "HOME", "PYTHONPATH", "TMPDIR") if key in os.environ}
    result = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, json.dumps([modules, sorted(imports.found)])],
                            capture_output=True, text=True, timeout=300, cwd=PACKAGE.parent, env=environ)
    assert result.returncode == 0, result.stderr[-3000:]
    changed = json.loads(result.stdout.strip().splitlines()[-1])
    assert changed == {"environ": {}, "logger_levels": {}}


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string constants that are documentation: docstrings and other bare string statements."""
    return {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def _spec_keys(tree: ast.Module) -> set[int]:
    """ids of the strings that name a spec key for pydantic (``field_validator("reference_error")``):
    the spec's own vocabulary, which may share a word with a metric."""
    return {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "field_validator"
            for arg in node.args}


def _vocabulary() -> dict[str, str]:
    """Tag and metric names defined in names.py, by value, with the constant that defines each."""
    tags = {name: value for name, value in vars(names).items() if name.endswith("_TAG") and isinstance(value, str)}
    metrics = {name: getattr(names, name) for name in METRIC_CONSTANTS}
    return {value: name for name, value in {**tags, **metrics}.items()}


def test_no_tag_or_metric_name_is_written_as_a_literal_outside_names():
    vocabulary = _vocabulary()
    assert {names.PID_TAG, names.HOST_TAG, names.ERROR_TAG, names.TRAIN_LOSS, names.REFERENCE_ERROR} <= set(vocabulary)
    found = []
    for path, tree in _sources().items():
        if _module_name(path) == names.__name__:
            continue
        docs = _docstrings(tree) | _spec_keys(tree)
        literals = sorted((node.lineno, node.col_offset, node.value) for node in ast.walk(tree)
                          if isinstance(node, ast.Constant) and isinstance(node.value, str)
                          and node.value in vocabulary and id(node) not in docs)
        found += [f"{path}:{line}: {value!r} (names.{vocabulary[value]})" for line, _, value in literals]
    assert not found, "tag or metric names written as literals:\n" + "\n".join(found)


def test_no_file_holds_a_merge_conflict_marker():
    """A merge left half-resolved reads as garbage to users (README) or breaks at import (code)."""
    root = PACKAGE.parent
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    marked = []
    for name in tracked:
        path = root / name
        if path.suffix not in {".py", ".md", ".yaml", ".toml", ".j2", ".txt", ".cfg"} or not path.is_file():
            continue
        lines = path.read_text(errors="replace").splitlines()
        marked += [f"{name}:{number}" for number, line in enumerate(lines, 1)
                   if line.startswith(("<<<<<<< ", ">>>>>>> "))]
    assert marked == []


def _returns_nothing() -> set[str]:
    """Names of package functions that never return a value: asserting that they return None tests nothing."""
    found = set()
    for tree in _sources().values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not any(
                    isinstance(inner, (ast.Return, ast.Yield)) and inner.value is not None
                    and not (isinstance(inner.value, ast.Constant) and inner.value.value is None)
                    for inner in ast.walk(node)):
                found.add(node.name)
    return found


def test_no_test_passes_by_not_raising_alone():
    """``assert f() is None`` where ``f`` always returns None passes whenever ``f`` does not raise: say what it did."""
    nothing = _returns_nothing()
    hollow = []
    for path in sorted(PACKAGE.parent.joinpath("tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)
                    and isinstance(node.test.ops[0], ast.Is) and isinstance(node.test.left, ast.Call)
                    and isinstance(node.test.comparators[0], ast.Constant) and node.test.comparators[0].value is None):
                called = node.test.left.func
                name = getattr(called, "id", getattr(called, "attr", None))
                if name in nothing:
                    hollow.append(f"{path.name}:{node.lineno}: {ast.unparse(node.test)}")
    assert hollow == []


#: Beginnings of names composed from the vocabulary: written only through names.py's helpers.
COMPOSED_PREFIXES = ("train_", "val_", "best_val", "final_", "lc_", "recommended_", "kept_")


def test_no_composed_metric_name_or_summary_kind_is_written_by_hand():
    """``f"val_{metric}"`` or ``"best_val"`` outside names.py bypasses the vocabulary (val_curve, BEST_VAL, ...)."""
    kinds = {names.BEST_VAL, names.FINAL_VAL, names.FINAL_TRAIN}
    found = []
    for path, tree in _sources().items():
        if _module_name(path) == names.__name__:
            continue
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant) \
                    and str(node.values[0].value).startswith(COMPOSED_PREFIXES) and len(node.values) > 1:
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
            elif isinstance(node, ast.Constant) and node.value in kinds and id(node) not in docs:
                found.append(f"{path}:{node.lineno}: {node.value!r}")
    assert found == []


def test_the_composed_name_check_sees_a_hand_written_name():
    tree = ast.parse('metric = "error"\nname = f"val_{metric}"\nkind = "best_val"\n')
    composed = [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
    assert len(composed) == 1 and composed[0].values[0].value.startswith(COMPOSED_PREFIXES)
    assert {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)} >= {names.BEST_VAL}
