"""Run `make generate` the way a user does, on copies, so the repository's own tree is never touched."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.spec_loader import ROOT, SPEC_PATH

ERROR_CLASSES = Path("src/plaid_refresh/client/error_classes.py")


def make_generate(spec: Path, client: Path, error_classes: Path) -> subprocess.CompletedProcess[str]:
    args = ["make", "--no-print-directory", "generate", f"SPEC={spec}", f"GENERATED={client}"]
    args.append(f"ERROR_CLASSES={error_classes}")
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False, timeout=240)


def copy_outputs(into: Path) -> tuple[Path, Path]:
    """Copies of the committed generated client and exception classes."""
    client = into / "generated_client"
    shutil.copytree(ROOT / "generated_client", client, ignore=shutil.ignore_patterns("__pycache__"))
    classes = into / "error_classes.py"
    shutil.copyfile(ROOT / ERROR_CLASSES, classes)
    return client, classes


def fingerprint(*roots: Path) -> dict[str, str]:
    """Every file under the roots (or the file itself) with its content hash."""
    found: dict[str, str] = {}
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def spec_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return data


def write_spec(data: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def add_error_code(data: dict[str, Any], code: str, error_type: str, status: str = "400") -> None:
    """What a spec author does for a new code: list it in KnownErrorCode and add its named example."""
    data["components"]["schemas"]["KnownErrorCode"]["enum"].append(code)
    response = data["paths"]["/transactions/refresh"]["post"]["responses"][status]
    name = response["$ref"].rsplit("/", 1)[-1]
    examples = data["components"]["responses"][name]["content"]["application/json"]["examples"]
    examples[code] = {
        "summary": f"{code} (added by a test)",
        "value": {
            "error_type": error_type,
            "error_code": code,
            "error_message": "the user must finish setting up their account",
            "display_message": None,
            "request_id": "4zlKapIkTm8p5Zz",
            "documentation_url": f"https://plaid.com/docs/errors/item/#{code.lower()}",
            "suggested_action": None,
            "error_code_reason": None,
            "causes": [],
            "status": None,
        },
    }
