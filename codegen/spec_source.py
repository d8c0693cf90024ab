"""The spec read for generation: parsed once, with the line of every node, so that every problem
is reported as `file:line: problem` instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Location = tuple[str | int, ...]


class SpecProblem(Exception):
    """The spec cannot be generated from. `str()` is the one line a user needs: file:line: problem."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.path = path
        self.line = line
        self.problem = problem

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.problem}"


def _loader() -> type[yaml.SafeLoader]:
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


@dataclass
class Spec:
    path: Path
    data: dict[str, Any]
    root: yaml.Node
    _lines: dict[Location, int] = field(default_factory=dict, repr=False)

    @property
    def display_name(self) -> str:
        return self.path.name

    def get(self, where: Location) -> Any:
        node: Any = self.data
        for part in where:
            in_mapping = isinstance(node, dict) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            if in_mapping or in_list:
                node = node[part]
            else:
                return None
        return node

    def line_of(self, where: Location) -> int | None:
        """1-based line of the node at `where`, or of its nearest existing ancestor."""
        while where:
            if where in self._lines:
                return self._lines[where]
            where = where[:-1]
        return 1

    def follow(self, node: Any, where: Location) -> tuple[dict[str, Any], Location]:
        """Follow local `$ref`s from `node` (found at `where`) to a mapping, with its location."""
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            target = parse_ref(ref)
            if target is None or ref in seen or self.get(target) is None:
                problem = "is a $ref cycle" if ref in seen else "points to nothing in this file"
                raise SpecProblem(self.path, self.line_of((*where, "$ref")), f"$ref {ref!r} {problem}")
            seen.add(ref)
            node, where = self.get(target), target
        if not isinstance(node, dict):
            raise SpecProblem(self.path, self.line_of(where), "expected a mapping here")
        return node, where

    def refs(self) -> Iterator[tuple[str, Location]]:
        """Every `$ref` in the file, with its location."""
        stack: list[tuple[Any, Location]] = [(self.data, ())]
        while stack:
            node, where = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    yield ref, (*where, "$ref")
                stack.extend((value, (*where, key)) for key, value in node.items())
            elif isinstance(node, list):
                stack.extend((value, (*where, index)) for index, value in enumerate(node))

    def check_refs(self) -> None:
        """Every local `$ref` must point to an existing node (the generator's own message names neither
        the file nor the line)."""
        for ref, where in sorted(self.refs(), key=lambda item: self.line_of(item[1]) or 0):
            target = parse_ref(ref)
            if target is not None and self.get(target) is None:
                problem = f"$ref {ref!r} points to nothing in this file"
                raise SpecProblem(self.path, self.line_of(where), problem)


def parse_ref(ref: str) -> Location | None:
    if not ref.startswith("#/"):
        return None
    parts = ref[2:].split("/")
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in parts)


def _index_lines(node: yaml.Node, where: Location, lines: dict[Location, int]) -> None:
    lines[where] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            _index_lines(value, (*where, name), lines)
            lines[(*where, name)] = key.start_mark.line + 1  # a value is reported at its key's line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*where, index), lines)


def load(path: Path) -> Spec:
    """Parse the spec, or raise SpecProblem naming the file, line and problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecProblem(path, None, f"cannot read the spec: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SpecProblem(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        root = yaml.compose(text, Loader=_loader())
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = f", column {mark.column + 1}" if mark is not None else ""
        context = exc.context or ""
        if exc.context_mark is not None and exc.context_mark.line + 1 != line:
            context += f" (opened at line {exc.context_mark.line + 1})"
        problem = ": ".join(part for part in (context.strip(), str(exc.problem or "")) if part)
        raise SpecProblem(path, line, f"YAML syntax error{column}: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecProblem(path, None, f"YAML error: {exc}") from None
    if not isinstance(data, dict) or root is None:
        raise SpecProblem(path, 1, "the spec must be a YAML mapping (openapi, info, paths, ...)")
    lines: dict[Location, int] = {}
    _index_lines(root, (), lines)
    return Spec(path=path, data=data, root=root, _lines=lines)
