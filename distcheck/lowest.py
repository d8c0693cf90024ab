"""The runtime client at the lowest versions it allows, with the client tests run there (`make lowest`).

uv's `--resolution lowest-direct` applies to the requirements it is given directly, so they are read from
the built wheels' metadata (the runtime's, and the [webhooks] and [server] extras the client tests use);
the wheels themselves then go in by file with --no-deps, and the test tools at the versions of uv.lock.
The client tests (tests/client) run from the repository with that venv's python: `plaid_refresh` and
`plaid_refresh_client` are imported from the installed wheels (src/ is never on the path).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import tempfile
import time
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from distcheck.venvs import StepFailed, Venv, run
from distcheck.wheels import GENERATED, RUNTIME, DistError, find_wheels

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = frozenset({"webhooks", "server"})
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis")
TESTS_TIMEOUT_S = 600


def lower_bound(requirement: Requirement) -> str | None:
    floors = [spec.version for spec in requirement.specifier if spec.operator in {">=", "==", "~="}]
    return floors[0] if floors else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distcheck.lowest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="the folder `make dist` filled")
    parser.add_argument("--uv", type=Path, required=True, help="the uv binary that makes the venv")
    parser.add_argument(
        "tests", nargs="*", default=["tests/client"], help="test paths (default: tests/client)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(
        f"==> the runtime client at its lowest allowed versions (uv --resolution lowest-direct): {args.tests}"
    )
    try:
        wheels = find_wheels(args.dist)
        requirements = {
            str(r): r for w in (wheels[RUNTIME], wheels[GENERATED]) for r in w.dependencies(EXTRAS)
        }
        with tempfile.TemporaryDirectory(prefix="lowest-") as tmp:
            venv = Venv.create(Path(tmp) / "lowest", args.uv)
            listed = Path(tmp) / "lowest.in"
            listed.write_text("\n".join(sorted(requirements)) + "\n", encoding="utf-8")
            venv.install(
                "direct requirements at their lowest", ["-r", str(listed)], "--resolution", "lowest-direct"
            )
            venv.install(
                "the two wheels, by file, --no-deps", [str(w.path) for w in wheels.values()], "--no-deps"
            )
            tools = [f"{name}=={importlib.metadata.version(name)}" for name in TEST_TOOLS]
            venv.install("test tools at the versions of uv.lock", tools)
            installed = venv.versions()
            floors = []
            for requirement in sorted(requirements.values(), key=lambda r: r.name):
                name, floor = canonicalize_name(requirement.name), lower_bound(requirement)
                got = installed.get(name)
                if floor is not None and got != floor:
                    raise StepFailed(f"{name}: lowest-direct installed {got}, not the declared floor {floor}")
                floors.append(f"{name} {got}")
            print("    installed at their floors: " + ", ".join(floors))
            out = run(
                f"pytest {' '.join(args.tests)} with the lowest versions",
                [str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.tests],
                cwd=ROOT,
                timeout=TESTS_TIMEOUT_S,
            )
            print("    " + (out.strip().splitlines() or ["(no output)"])[-1])
    except (DistError, StepFailed) as failure:
        print(f"ERROR: lowest versions: {failure}", file=sys.stderr)
        return 1
    print(f"==> lowest versions passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
