"""python -m codegen: everything `make` does with the spec (see `make help`)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from codegen import spec_lint, spec_source
from codegen.drift import diff_file, diff_tree
from codegen.generate import GenerationFailed, Outputs, generate, generate_into
from codegen.spec_source import SpecProblem

DIFF_LINES_SHOWN = 40


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in [
        ("generate", "regenerate the client and the exception classes, atomically (make generate)"),
        ("check", "fail if the committed outputs differ from a fresh generation (make check-generated)"),
    ]:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--spec", type=Path, required=True, help="the OpenAPI file")
        command.add_argument("--config", type=Path, required=True, help="the generator's configuration")
        command.add_argument("--client", type=Path, required=True, help="the generated client's folder")
        command.add_argument("--error-classes", type=Path, required=True, help="the exception classes module")
    for name, help_text in [
        ("check-spec", "parse the spec and resolve its $refs: one line per problem (targets reading it)"),
        ("validate", "validate the spec against the OpenAPI 3.1 schema, with lines (make lint-spec)"),
    ]:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--spec", type=Path, required=True, help="the OpenAPI file")
    return parser


def _check(spec: Path, config: Path, target: Outputs) -> int:
    with tempfile.TemporaryDirectory(prefix="check-generated-") as tmp:
        fresh = generate_into(spec, config, Path(tmp), baseline=target.client)
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


def _validate(path: Path) -> int:
    spec = spec_source.load(path)
    spec.check_refs()
    found = list(spec_lint.problems(spec))
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    if found:
        return 1
    print(f"==> {path} is a valid OpenAPI 3.1 document")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-spec":
            spec_source.load(args.spec).check_refs()
            return 0
        if args.command == "validate":
            return _validate(args.spec)
        target = Outputs(client=args.client, error_classes=args.error_classes)
        if args.command == "check":
            return _check(args.spec, args.config, target)
        generate(args.spec, args.config, target)
    except SpecProblem as problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        if args.command == "generate":
            print("       Nothing was changed.", file=sys.stderr)
        return 1
    except GenerationFailed as failure:
        print(f"{failure}\n", file=sys.stderr)
        print(f"ERROR: openapi-python-client rejected {args.spec} (above).", file=sys.stderr)
        if args.command == "generate":
            print("       Nothing was changed.", file=sys.stderr)
        return 1
    print(f"==> wrote {target.client}/ and {target.error_classes} from {args.spec}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
