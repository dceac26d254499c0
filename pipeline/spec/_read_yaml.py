"""Read a YAML spec file safely: bounded size, depth and alias expansion, YAML 1.2 numbers.

The spec module's reader; it parses and never validates. Every problem becomes one
:class:`~pipeline.errors.FitcheckError` line naming the file, with any echoed text cut to
:data:`~pipeline.errors.ECHO_CHARS` characters, so a hostile file ("billion laughs" aliases, deep nesting, a
huge scalar, binary bytes) is refused quickly and in bounded memory.

Numbers follow YAML 1.2, not PyYAML's YAML 1.1: ``1e9`` is a number (1.1 reads it as a
string), ``010`` is ten (not octal eight) and ``1:30`` is a string (not sexagesimal 90).

Example
-------
>>> read_yaml_text("grid: {epochs: 1e3, seeds: [010]}", source="inline")
{'grid': {'epochs': 1000.0, 'seeds': [10]}}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ECHO_CHARS, FitcheckError, echo

#: Largest spec file read; a spec is a few hundred bytes to a few kilobytes.
MAX_BYTES = 100_000
#: Deepest nesting of mappings and lists, counted through aliases; a spec needs 4.
MAX_DEPTH = 20
#: Most values (scalars, lists and mappings) once every alias is expanded; a spec has a few hundred.
MAX_NODES = 10_000
#: Longest number literal read; anything longer is far outside every bound.
MAX_DIGITS = 30

_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_INT = re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, counting depth and expanded size as it composes each node."""

    def __init__(self, text: str, *, source: str):
        super().__init__(text)
        self.source = source
        self.depth = 0
        self.composed = 0  # nodes composed so far, aliases not counted
        self.measures: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, expanded depth)

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                self._refuse(f"nested deeper than {MAX_DEPTH} levels")
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if id(node) not in self.measures:  # an alias returns its anchor's node, measured already
            children = ([child for pair in node.value for child in pair] if isinstance(node, yaml.MappingNode)
                        else node.value if isinstance(node, yaml.SequenceNode) else [])
            measured = [self.measures[id(child)] for child in children]
            size = 1 + sum(size for size, _ in measured)
            depth = 1 + max((depth for _, depth in measured), default=0)
            self.composed += 1
            if size > MAX_NODES or self.composed > MAX_NODES:
                self._refuse(f"expands to more than {MAX_NODES} values (through aliases or a long list)")
            if depth > MAX_DEPTH:
                self._refuse(f"nested deeper than {MAX_DEPTH} levels (through aliases)")
            self.measures[id(node)] = (size, depth)
        return node

    def construct_yaml_int(self, node) -> int:
        text = self.construct_scalar(node).replace("_", "")
        digits = text.lstrip("+-")
        if len(digits) > MAX_DIGITS:
            self._refuse(f"line {node.start_mark.line + 1}: number {echo(text)} has more than {MAX_DIGITS} digits")
        base = {"0x": 16, "0o": 8}.get(digits[:2], 10)
        value = int(digits[2:] if base != 10 else digits, base)
        return -value if text.startswith("-") else value

    def _refuse(self, problem: str) -> None:
        raise FitcheckError(f"{self.source}: {problem}; a sweep spec is a small YAML mapping")


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_INT_TAG, _INT, list("-+0123456789"))
_Loader.add_implicit_resolver(_FLOAT_TAG, _FLOAT, list("-+.0123456789"))
_Loader.add_constructor(_INT_TAG, _Loader.construct_yaml_int)


def read_yaml_text(text: str, *, source: str) -> Any:
    """Parse one YAML document; malformed YAML becomes a one-line :class:`FitcheckError`."""
    loader = None
    try:
        loader = _Loader(text, source=source)
        return loader.get_single_data()
    except yaml.reader.ReaderError as error:
        raise FitcheckError(f"{source}: holds the non-printable character #x{error.character:04x} at position "
                            f"{error.position}; a sweep spec is YAML text") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(error, "problem", None) or "not valid YAML")[:ECHO_CHARS]
        raise FitcheckError(f"{source}: malformed YAML{where}: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: Path) -> Any:
    """Read a spec file of at most :data:`MAX_BYTES` bytes of UTF-8 text (a byte-order mark is allowed)."""
    if not path.is_file():
        raise FitcheckError(f"{path}: not a regular file; give a sweep spec file such as experiments/quickstart.yaml")
    with path.open("rb") as stream:
        data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise FitcheckError(f"{path}: larger than {MAX_BYTES // 1000} KB; a sweep spec is a small YAML file")
    if b"\x00" in data:
        raise FitcheckError(f"{path}: holds NUL bytes, so it is a binary file; a sweep spec is YAML text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise FitcheckError(f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}); "
                            "save the spec as UTF-8") from None
    return read_yaml_text(text, source=str(path))
