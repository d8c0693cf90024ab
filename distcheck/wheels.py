"""The built wheels in dist/ and what their metadata declares."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

RUNTIME = "unofficial-plaid-refresh"
GENERATED = "unofficial-plaid-refresh-generated"
OURS = frozenset({RUNTIME, GENERATED})


class DistError(Exception):
    """dist/ does not hold what the check needs; the message says how to make it."""


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str
    version: str
    requires: tuple[Requirement, ...]

    def dependencies(self, extras: frozenset[str] = frozenset()) -> list[Requirement]:
        """Third-party requirements for these extras (this project's own names excluded)."""
        found: list[Requirement] = []
        environments = [{"extra": extra} for extra in sorted(extras)] or [{"extra": ""}]
        for requirement in self.requires:
            if canonicalize_name(requirement.name) in OURS:
                continue
            marker = requirement.marker
            if marker is None or any(marker.evaluate(env) for env in environments):
                plain = Requirement(str(requirement))
                plain.marker = None  # the extra is already chosen; an installer would evaluate it as ""
                found.append(plain)
        return found


def read_wheel(path: Path) -> Wheel:
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(name).decode("utf-8"))
    requires = tuple(Requirement(value) for value in metadata.get_all("Requires-Dist") or [])
    return Wheel(path, canonicalize_name(metadata["Name"]), metadata["Version"], requires)


def find_wheels(dist: Path) -> dict[str, Wheel]:
    """This project's wheels in `dist`, by distribution name: exactly one of each."""
    wheels: dict[str, Wheel] = {}
    for path in sorted(dist.glob("*.whl")):
        wheel = read_wheel(path)
        if wheel.name in wheels:
            raise DistError(f"{dist} holds two wheels of {wheel.name}: run `make dist` (it empties {dist}/)")
        wheels[wheel.name] = wheel
    missing = sorted(OURS - set(wheels))
    if missing:
        raise DistError(f"no wheel of {', '.join(missing)} in {dist}/: run `make dist` first")
    return wheels


def file_requirement(wheel: Wheel, extras: frozenset[str] = frozenset()) -> str:
    """A direct reference to the wheel file: the installer takes it as is and asks no index for the name."""
    extra = f"[{','.join(sorted(extras))}]" if extras else ""
    return f"{wheel.name}{extra} @ {wheel.path.resolve().as_uri()}"
