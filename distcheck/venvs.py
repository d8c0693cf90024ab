"""Clean virtual environments made with uv: no repository code, no editable install, no PYTHONPATH."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT_S = 300


class StepFailed(Exception):
    """A step of a check failed; the message names the step and carries its output."""


def clean_env() -> dict[str, str]:
    """The environment minus what would let repository code leak in."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "MYPYPATH"}}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(
    step: str,
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float = INSTALL_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> str:
    print(f"  - {step}", flush=True)
    try:
        result = subprocess.run(  # noqa: S603 - commands built by this package
            list(command),
            cwd=cwd,
            env=env or clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{step}: did not finish in {timeout:.0f} s") from None
    if result.returncode != 0:
        raise StepFailed(f"{step}: exit {result.returncode}\n{result.stdout}{result.stderr}".rstrip())
    return result.stdout


@dataclass(frozen=True)
class Venv:
    root: Path
    uv: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @classmethod
    def create(cls, root: Path, uv: Path) -> Venv:
        run(f"venv {root.name}", [str(uv), "venv", "--quiet", "--python", sys.executable, str(root)])
        return cls(root, uv)

    def install(self, step: str, requirements: Sequence[str], *options: str) -> None:
        command = [str(self.uv), "pip", "install", "--quiet", "--python", str(self.python), *options]
        run(step, [*command, *requirements])

    def versions(self) -> dict[str, str]:
        """Installed distributions, by canonical name."""
        code = (
            "import importlib.metadata as m, re\n"
            "for d in m.distributions():\n"
            "    print(re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(), d.version)\n"
        )
        out = run(f"list {self.root.name}", [str(self.python), "-c", code])
        return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())
