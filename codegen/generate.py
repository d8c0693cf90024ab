"""Generate everything derived from the spec into a temporary folder, then swap it in.

Two outputs: the generated client distribution (openapi-python-client) and the exception classes of
`plaid_refresh` (codegen.error_classes). Either both are replaced, or neither: on any failure the tree
is left exactly as it was and the error names the file, line and problem.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from codegen import error_classes, spec_source, versioning
from codegen.spec_source import SpecProblem

GENERATOR_TIMEOUT_S = 300
_UNTRUSTED = re.compile(r"<openapi_python_client\.\S*UntrustedString object at 0x[0-9a-f]+>")
_ISSUE_LINK = re.compile(r"If you believe this was a mistake or this tool is missing.*$", re.MULTILINE)


class GenerationFailed(Exception):
    """The generator refused the spec; the message is its own output, cleaned up."""


@dataclass(frozen=True)
class Outputs:
    client: Path  # the generated client distribution (a folder)
    error_classes: Path  # src/plaid_refresh/client/error_classes.py


def _bin(name: str) -> Path:
    return Path(sys.executable).parent / name


def _clean(output: str) -> str:
    # openapi-python-client 0.29 prints an object repr where a response's status code belongs.
    text = _UNTRUSTED.sub("(one of its responses)", output)
    text = _ISSUE_LINK.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_DOTTED = re.compile(r"^((?:components|paths|webhooks)\.[^\s]+)", re.MULTILINE)
_SLASHED = re.compile(r"(/(?:components|paths|webhooks)/[^\s:]+)")


def locate(spec: spec_source.Spec, output: str) -> list[str]:
    """`file:line: <where>` for each spec location the generator's message names (it names none itself)."""
    found: dict[int | None, str] = {}
    named = [d.split(".") for d in _DOTTED.findall(output)]
    named += [s.strip("/").split("/") for s in _SLASHED.findall(output)]
    for parts in named:
        where: spec_source.Location = ()
        for part in parts:  # pydantic adds its own steps (union branches): skip what the spec lacks
            if spec.get((*where, part)) is not None:
                where = (*where, part)
        found.setdefault(spec.line_of(where), ".".join(map(str, where)))
    return [f"{spec.path}:{line}: {where}" for line, where in found.items()]


CUSTOM_TEMPLATES = Path(__file__).resolve().parent.parent / "openapi" / "templates" / "generated_client"


def run_generator(spec: Path, config: Path, out: Path) -> None:
    # The generator's post hooks call ruff from PATH: without it formatting is silently skipped.
    env = {**os.environ, "PATH": f"{_bin('ruff').parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [
        str(_bin("openapi-python-client")),
        "generate",
        "--path",
        str(spec),
        "--config",
        str(config),
        "--meta",
        "uv",
        "--custom-template-path",
        str(CUSTOM_TEMPLATES),
        "--overwrite",
        "--fail-on-warning",
        "--output-path",
        str(out),
    ]
    try:
        result = subprocess.run(  # noqa: S603 - fixed command, paths from our own arguments
            command, capture_output=True, text=True, env=env, timeout=GENERATOR_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise GenerationFailed(f"openapi-python-client did not finish in {GENERATOR_TIMEOUT_S} s") from None
    if result.returncode != 0:
        raise GenerationFailed(_clean(result.stdout + "\n" + result.stderr))


def _config_with_version(config: Path, workdir: Path) -> Path:
    try:
        settings = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise GenerationFailed(f"{config}: cannot read the generator's configuration: {exc}") from None
    settings["package_version_override"] = versioning.PLACEHOLDER
    written = workdir / "generator-config.yaml"
    written.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return written


def generate_into(spec_path: Path, config: Path, workdir: Path, baseline: Path) -> Outputs:
    """Generate both outputs under `workdir`; `baseline` is the committed client folder, whose lock
    decides the version. Raises SpecProblem or GenerationFailed."""
    spec = spec_source.load(spec_path)
    spec.check_refs()
    versioning.api_version(spec)
    classes = error_classes.render(spec)
    outputs = Outputs(client=workdir / "generated_client", error_classes=workdir / "error_classes.py")
    try:
        run_generator(spec_path, _config_with_version(config, workdir), outputs.client)
    except GenerationFailed as failure:
        where = locate(spec, str(failure))
        if where:
            raise GenerationFailed(f"{failure}\n\nin the spec:\n" + "\n".join(where)) from None
        raise
    previous = versioning.read_lock(baseline / versioning.LOCK_NAME)
    lock = versioning.next_lock(spec, versioning.fingerprint(outputs.client), previous)
    versioning.stamp(outputs.client, lock)
    outputs.error_classes.write_text(classes, encoding="utf-8")
    return outputs


def swap_in(new: Outputs, target: Outputs, workdir: Path) -> None:
    """Replace the targets by the new outputs: renames only, each one atomic, on the same filesystem."""
    if target.client.exists():
        target.client.rename(workdir / "previous_client")
    new.client.rename(target.client)
    os.replace(new.error_classes, target.error_classes)


def generate(spec_path: Path, config: Path, target: Outputs) -> None:
    target.client.parent.mkdir(parents=True, exist_ok=True)
    # The temporary folder sits beside the target, so the final renames never cross filesystems.
    with tempfile.TemporaryDirectory(prefix=".generate-", dir=target.client.parent) as tmp:
        workdir = Path(tmp)
        new = generate_into(spec_path, config, workdir, baseline=target.client)
        tmp_classes = target.error_classes.with_name(f".{target.error_classes.name}.new")
        try:
            shutil.move(new.error_classes, tmp_classes)
            swap_in(Outputs(new.client, tmp_classes), target, workdir)
        finally:
            tmp_classes.unlink(missing_ok=True)


__all__ = ["GenerationFailed", "Outputs", "SpecProblem", "generate", "generate_into"]
