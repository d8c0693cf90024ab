"""The generated client's version: the spec's `info.version` plus a revision that `make generate` bumps
whenever the generated code changes.

`generated_client/codegen.lock` records the last version and a fingerprint of the code it names. A fresh
generation whose fingerprint differs gets the next revision, so a spec change that changes the generated
code always changes the version; `make check-generated` compares the lock like any generated file, so a
stale version fails CI.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from codegen.spec_source import Spec, SpecProblem

LOCK_NAME = "codegen.lock"
# What the generator is given as the version; replaced by the real one once the fingerprint is taken.
PLACEHOLDER = "0.0.0.dev424242"
_ENTRY = re.compile(r'^(version|fingerprint) = "([^"]*)"$', re.MULTILINE)


@dataclass(frozen=True)
class Lock:
    version: str
    fingerprint: str

    def render(self) -> str:
        return (
            "# Written by `make generate`: the generated client's version and the sha256 of its code.\n"
            "# A change to the generated code bumps the version; `make check-generated` fails if stale.\n"
            f'version = "{self.version}"\n'
            f'fingerprint = "{self.fingerprint}"\n'
        )


def api_version(spec: Spec) -> Version:
    """`info.version` as a PEP 440 release: a date such as 2020-09-14 becomes 2020.9.14."""
    raw = spec.get(("info", "version"))
    text = str(raw).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text = text.replace("-", ".")
    try:
        version = Version(text)
    except InvalidVersion:
        version = None
    if version is None or version.local or version.pre or version.dev or version.post:
        raise SpecProblem(
            spec.path,
            spec.line_of(("info", "version")),
            f"info.version {raw!r} is neither a date (YYYY-MM-DD) nor a release number such as 1.2.3",
        )
    return Version(version.base_version)


def read_lock(path: Path) -> Lock | None:
    """The committed lock; after a merge conflict (both sides bumped), the higher version of the two."""
    if not path.is_file():
        return None
    entries = _ENTRY.findall(path.read_text(encoding="utf-8"))
    versions = [Version(value) for key, value in entries if key == "version"]
    prints = [value for key, value in entries if key == "fingerprint"]
    if not versions:
        return None
    if len(versions) > 1:  # conflict markers: no fingerprint can be trusted, the next version is safe
        return Lock(str(max(versions)), "")
    return Lock(str(versions[0]), prints[0] if prints else "")


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        if path.name == LOCK_NAME:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def next_lock(spec: Spec, code_fingerprint: str, previous: Lock | None) -> Lock:
    base = api_version(spec)
    if previous is not None:
        old = Version(previous.version)
        same_api = Version(".".join(map(str, old.release[:-1]))) == base if len(old.release) > 1 else False
        if same_api and previous.fingerprint == code_fingerprint:
            return previous
        if same_api:
            return Lock(f"{base}.{old.release[-1] + 1}", code_fingerprint)
    return Lock(f"{base}.1", code_fingerprint)


def stamp(root: Path, lock: Lock) -> None:
    """Put the real version where the generator wrote the placeholder, and write the lock."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        text = path.read_bytes()
        if PLACEHOLDER.encode() in text:
            path.write_bytes(text.replace(PLACEHOLDER.encode(), lock.version.encode()))
    (root / LOCK_NAME).write_text(lock.render(), encoding="utf-8")
