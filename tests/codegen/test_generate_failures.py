"""A `make generate` that fails leaves the tree exactly as it was and names the file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.spec_loader import SPEC_PATH

from .helpers import add_error_code, copy_outputs, fingerprint, make_generate, spec_data, write_spec

pytestmark = pytest.mark.timeout(240)


def _line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def _generate_broken(tmp_path: Path, spec_text: str) -> tuple[str, bool]:
    """(the error output, whether the outputs are byte for byte what they were) after a failed run."""
    client, classes = copy_outputs(tmp_path)
    before = fingerprint(client, classes)
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text, encoding="utf-8")
    result = make_generate(spec, client, classes)
    assert result.returncode != 0, result.stdout
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers
    return result.stderr, fingerprint(client, classes) == before


def test_a_broken_ref_names_its_line_and_changes_nothing(tmp_path: Path) -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    broken = text.replace('"#/components/schemas/RequestId"', '"#/components/schemas/RequestIdX"', 1)
    assert broken != text
    stderr, untouched = _generate_broken(tmp_path, broken)
    line = _line_of(broken, "RequestIdX")
    assert f"spec.yaml:{line}: $ref '#/components/schemas/RequestIdX' points to nothing" in stderr
    assert "Nothing was changed" in stderr
    assert "Traceback" not in stderr
    assert untouched


def test_a_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    lines = text.splitlines()
    target = _line_of(text, "RequestId:")
    lines[target - 1] = lines[target - 1] + " [unclosed"
    stderr, untouched = _generate_broken(tmp_path, "\n".join(lines) + "\n")
    assert "spec.yaml:" in stderr
    assert "YAML syntax error" in stderr
    assert "Traceback" not in stderr
    assert untouched


def test_a_schema_the_generator_rejects_is_located_and_changes_nothing(tmp_path: Path) -> None:
    # The spec loads and its $refs resolve: the failure comes from openapi-python-client itself.
    text = SPEC_PATH.read_text(encoding="utf-8")
    start = _line_of(text, "    RequestId:")
    lines = text.splitlines()
    assert lines[start].strip() == "type: string"
    lines[start] = lines[start].replace("type: string", "type: strng")
    stderr, untouched = _generate_broken(tmp_path, "\n".join(lines) + "\n")
    assert f"spec.yaml:{start + 1}: components.schemas.RequestId.type" in stderr
    assert "UntrustedString" not in stderr
    assert "openapi-python-client rejected" in stderr
    assert untouched


def test_an_example_code_missing_from_the_enum_is_named(tmp_path: Path) -> None:
    data = spec_data()
    add_error_code(data, "USER_SETUP_REQUIRED", "ITEM_ERROR")
    data["components"]["schemas"]["KnownErrorCode"]["enum"].remove("USER_SETUP_REQUIRED")
    text = write_spec(data, tmp_path / "in.yaml").read_text(encoding="utf-8")
    (tmp_path / "out").mkdir()
    stderr, untouched = _generate_broken(tmp_path / "out", text)
    line = _line_of(text, "error_code: USER_SETUP_REQUIRED")
    assert f"spec.yaml:{line}: example error_code 'USER_SETUP_REQUIRED' is not in" in stderr
    assert untouched


def test_a_code_without_an_example_is_named(tmp_path: Path) -> None:
    data = spec_data()
    data["components"]["schemas"]["KnownErrorCode"]["enum"].append("USER_SETUP_REQUIRED")
    text = write_spec(data, tmp_path / "in.yaml").read_text(encoding="utf-8")
    (tmp_path / "out").mkdir()
    stderr, untouched = _generate_broken(tmp_path / "out", text)
    assert "KnownErrorCode USER_SETUP_REQUIRED has no example under an error response" in stderr
    assert untouched
