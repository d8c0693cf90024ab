"""python -m codegen {generate,check}: see `make generate` and `make check-generated`."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from codegen.drift import diff_file, diff_tree
from codegen.generate import GenerationFailed, Outputs, generate, generate_into
from codegen.spec_source import SpecProblem

DIFF_LINES_SHOWN = 40


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Generate the client and the exception classes from the spec, atomically "
        "(generate), or check that the committed ones are what the spec generates (check).",
    )
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument("--spec", type=Path, required=True, help="the OpenAPI file")
    parser.add_argument("--config", type=Path, required=True, help="openapi-python-client's configuration")
    parser.add_argument("--client", type=Path, required=True, help="the generated client's folder")
    parser.add_argument("--error-classes", type=Path, required=True, help="the exception classes module")
    return parser


def _check(spec: Path, config: Path, target: Outputs) -> int:
    with tempfile.TemporaryDirectory(prefix="check-generated-") as tmp:
        fresh = generate_into(spec, config, Path(tmp))
        lines = diff_tree(fresh.client, target.client, str(target.client))
        lines += diff_file(fresh.error_classes, target.error_classes, str(target.error_classes))
    if not lines:
        print(f"==> {target.client}/ and {target.error_classes} match a fresh generation of {spec}")
        return 0
    print("".join(line if line.endswith("\n") else line + "\n" for line in lines[:DIFF_LINES_SHOWN]), end="")
    if len(lines) > DIFF_LINES_SHOWN:
        print(f"... {len(lines) - DIFF_LINES_SHOWN} more lines")
    print()
    print(f"ERROR: {target.client}/ or {target.error_classes} is not what {spec} generates.")
    print("       Run 'make generate' and commit the result. Never edit generated files by hand.")
    return 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    target = Outputs(client=args.client, error_classes=args.error_classes)
    try:
        if args.command == "check":
            return _check(args.spec, args.config, target)
        generate(args.spec, args.config, target)
    except SpecProblem as problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        print("       Nothing was changed.", file=sys.stderr)
        return 1
    except GenerationFailed as failure:
        print(f"{failure}\n", file=sys.stderr)
        print(f"ERROR: openapi-python-client rejected {args.spec} (above).", file=sys.stderr)
        print("       Nothing was changed.", file=sys.stderr)
        return 1
    print(f"==> wrote {target.client}/ and {target.error_classes} from {args.spec}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
