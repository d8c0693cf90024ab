"""The run-level rules (ledger.py), the differential oracle (oracle.py) and scenario curl lines, on made-up
answers; and the mutation catalogue's shape plus a small by-URL proof (`make mutation` runs it all)."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contract_tests.server.ledger import Ledger, plain_json_problems
from contract_tests.server.oracle import Oracle
from contract_tests.server.reference import reference_target
from contract_tests.server.scenarios import Sent, curl_line
from contract_tests.server.target import Target
from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, TOKEN_HEALTHY
from plaid_refresh.server.testing import running_server
from tests.contract_suite import mutation
from tests.contract_suite.mutants import CATALOGUE, answers_200_to_everything

ROOT = Path(__file__).resolve().parents[2]

JSON = "application/json"


def test_plain_json_rules() -> None:
    assert plain_json_problems(JSON, b'{"request_id": "a"}', 200) == []
    assert (
        "repeats the key 'request_id'"
        in plain_json_problems(JSON, b'{"request_id":1,"request_id":1}', 200)[0]
    )
    assert "byte-order mark" in plain_json_problems(JSON, b'\xef\xbb\xbf{"a": 1}', 200)[0]
    assert "charset" in plain_json_problems(f"{JSON}; charset=iso-8859-1", b"{}", 200)[0]
    assert plain_json_problems(f"{JSON}; charset=UTF-8", b"{}", 200) == []
    assert "not an object" in plain_json_problems(JSON, b"[{}]", 200)[0]
    assert "not one JSON value" in plain_json_problems(JSON, b"{} {}", 200)[0]
    assert "not one JSON value" in plain_json_problems(JSON, b'{"a": NaN}', 200)[0]
    assert "not valid UTF-8" in plain_json_problems(JSON, b'{"a": "\xff"}', 200)[0]


def _observe(
    ledger: Ledger,
    content: bytes,
    *,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    token: str = TOKEN_HEALTHY,
    server: str = "s",
) -> list[str]:
    return ledger.observe(
        server=server,
        where="test",
        path="/transactions/refresh",
        request_headers={"PLAID-SECRET": DEFAULT_SECRET},
        request_body=json.dumps({"access_token": token}).encode(),
        status=status,
        response_headers=[("content-type", JSON), *(headers or [])],
        content=content,
    )


def test_ledger_request_ids_must_be_unique() -> None:
    ledger = Ledger(secret=DEFAULT_SECRET, known_tokens={TOKEN_HEALTHY: "the token"})
    assert _observe(ledger, b'{"request_id": "abc"}') == []
    assert "already given" in _observe(ledger, b'{"request_id": "abc"}')[0]


def test_ledger_finds_sensitive_values_in_any_encoding() -> None:
    ledger = Ledger(secret=DEFAULT_SECRET, known_tokens={TOKEN_HEALTHY: "the token"})
    b64 = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_SECRET}".encode()).decode()
    assert _observe(
        ledger,
        b'{"request_id": "1"}',
        headers=[("x-debug", base64.b64encode(DEFAULT_SECRET.encode()).decode())],
    )
    assert _observe(ledger, json.dumps({"request_id": "2", "m": TOKEN_HEALTHY.encode().hex()}).encode())
    assert _observe(ledger, json.dumps({"request_id": "3", "m": "access-sandbox-healthy"}).encode())
    # base64 of a longer string that contains the secret (client_id:secret, as in Basic auth).
    assert "inside a base64 run" in _observe(ledger, json.dumps({"request_id": "4", "m": b64}).encode())[0]
    # A token sent earlier in the run, echoed later.
    other = "access-sandbox-0123456789abcdef"
    assert _observe(ledger, b'{"request_id": "5"}', token=other, status=400) == []
    leak = json.dumps({"request_id": "6", "m": f"last: {other}"}).encode()
    assert "sent earlier" in _observe(ledger, leak, status=400)[0]


def test_ledger_rate_limit_is_exact_for_the_rate_item() -> None:
    now = [0.0]
    ledger = Ledger(secret=DEFAULT_SECRET, known_tokens={}, rate_tokens=frozenset({"access-sandbox-rate"}),
                    clock=lambda: now[0])  # fmt: skip
    limit = json.dumps({"error_code": "TRANSACTIONS_REFRESH_LIMIT", "request_id": "x"}).encode()
    assert _observe(ledger, b'{"request_id": "1"}', token="access-sandbox-rate") == []
    assert "after only 1" in _observe(ledger, limit, status=429, token="access-sandbox-rate")[0]
    assert _observe(ledger, b'{"request_id": "2"}', token="access-sandbox-rate") == []
    assert "refresh 3 of one Item" in _observe(ledger, b'{"request_id": "3"}', token="access-sandbox-rate")[0]
    now[0] = 61.0
    assert _observe(ledger, b'{"request_id": "4"}', token="access-sandbox-rate") == []
    # Other Items (limits off on the in-process server's working token) are only counted.
    for n in range(5):
        assert _observe(ledger, json.dumps({"request_id": f"h{n}"}).encode()) == []


def test_oracle_compares_status_type_and_code_only() -> None:
    target = Target(name="stub", base_url="http://127.0.0.1:9", client_id=DEFAULT_CLIENT_ID,
                    secret=DEFAULT_SECRET, access_token="access-sandbox-theirs")  # fmt: skip
    oracle = Oracle(target)
    oracle.start()
    try:
        headers = {"PLAID-CLIENT-ID": DEFAULT_CLIENT_ID, "PLAID-SECRET": DEFAULT_SECRET, "Content-Type": JSON}
        body = json.dumps({"access_token": "access-sandbox-theirs"}).encode()
        # The target's token is the mirror's healthy Item: a 200 agrees, whatever the ids say.
        assert (
            oracle.compare("POST", "/transactions/refresh", headers, body, 200, b'{"request_id": "z"}')
            is None
        )
        problem = oracle.compare("POST", "/transactions/refresh", headers, b"{", 200, b'{"request_id": "z"}')
        assert problem is not None
        assert "HTTP 200" in problem
        assert "INVALID_BODY" in problem
        # 429/500/503 from the target are transient, not disagreements.
        assert oracle.compare("POST", "/transactions/refresh", headers, body, 503, b"{}") is None
        assert (oracle.compared, oracle.disagreements, oracle.transient) == (3, 1, 1)
    finally:
        oracle.stop()


def test_embedded_reference_server_gets_no_oracle() -> None:
    from contract_tests.server.oracle import oracle_wanted
    from tests.contract_suite.broken import unbroken

    assert not oracle_wanted(reference_target(), {})
    assert oracle_wanted(reference_target(unbroken), {})
    assert not oracle_wanted(reference_target(unbroken), {"PLAID_CONTRACT_ORACLE": "off"})
    with pytest.raises(ValueError, match="PLAID_CONTRACT_ORACLE"):
        oracle_wanted(reference_target(unbroken), {"PLAID_CONTRACT_ORACLE": "maybe"})


def test_curl_lines_name_variables_never_values() -> None:
    sent = Sent("POST", "/transactions/refresh", {"PLAID-SECRET": DEFAULT_SECRET, "Content-Type": JSON},
                json.dumps({"access_token": TOKEN_HEALTHY}).encode())  # fmt: skip
    line = curl_line(
        sent, "http://127.0.0.1:1", {DEFAULT_SECRET: "PLAID_SECRET", TOKEN_HEALTHY: "PLAID_ACCESS_TOKEN"}
    )
    assert DEFAULT_SECRET not in line
    assert TOKEN_HEALTHY not in line
    assert """'PLAID-SECRET: '"$PLAID_SECRET"''""" in line
    assert """'{"access_token": "'"$PLAID_ACCESS_TOKEN"'"}'""" in line


def test_catalogue_is_large_and_varied() -> None:
    real = [m for m in CATALOGUE.values() if m.equivalent is None]
    assert len(real) >= 40
    assert len({m.family for m in real}) >= 10
    for m in CATALOGUE.values():
        assert m.mistake
        assert callable(m.build())


@pytest.mark.timeout(600)
def test_mutation_run_by_url_catches_a_sample(capsys: pytest.CaptureFixture[str]) -> None:
    """`make mutation` in small: the unbroken server passes by URL, and mutants that only the oracle, the
    run-level rules and the new scenarios can see are caught."""
    sample = ["duplicate_keys_in_success", "token_before_keys", "keys_reordered"]
    code = mutation.main(["--only", *sample, "--max-examples", "5", "--min-score", "0.66"])
    out = capsys.readouterr().out
    assert "unbroken server: passes" in out, out
    assert "mutation score: 2/3" in out, out
    assert "equivalent: JSON objects are unordered" in out, out
    assert code == 0, out


def _suite(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    base.update(env, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "contract_tests/server", *args]
    return subprocess.run(
        command, cwd=ROOT, env=base, capture_output=True, text=True, timeout=300, check=False
    )


STUB_SECRET = "stub-secret-0123456789"
STUB_ENV = {
    "PLAID_CLIENT_ID": "stub-client-0123456789",
    "PLAID_SECRET": STUB_SECRET,
    "PLAID_ACCESS_TOKEN": "access-sandbox-stub-item",
    "PLAID_CONTRACT_MAX_EXAMPLES": "3",
}


def test_a_stub_that_answers_200_shows_the_oracles_disagreements(tmp_path: Path) -> None:
    junit = tmp_path / "stub.xml"
    with running_server(answers_200_to_everything) as base_url:
        done = _suite({**STUB_ENV, "PLAID_BASE_URL": base_url}, f"--junitxml={junit}")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert re.search(r"differential oracle: on; \d+ answers compared .*, [1-9]\d* disagreements", out), out[
        -3000:
    ]
    assert "differential oracle: the target answered HTTP 200, the reference server HTTP 400" in out
    assert re.search(r"reproduce: curl .*'\"\$PLAID_SECRET\"'", out), out[-3000:]
    assert STUB_SECRET not in out + junit.read_text()
    names = {case.get("name", "") for case in ET.parse(junit).iter("testcase")}
    assert "test_scenario[key_get: missing_fields]" in names  # JUnit names carry operation and mode
    assert any(name.startswith("test_positive") for name in names)


def test_summary_failure_order_is_stable() -> None:
    from contract_tests.server.summary import RunStats

    stats = RunStats(target="t", secrets=())
    for test in ("b", "a", "c"):
        stats.record_report_failure(test, "E AssertionError: x")
    assert [f["test"] for f in stats.as_dict()["failures"]] == ["a", "b", "c"]


def test_unreachable_target_is_one_clear_usage_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = _suite({**STUB_ENV, "PLAID_BASE_URL": f"http://127.0.0.1:{port}"})
    out = done.stdout + done.stderr
    assert done.returncode == 4, out[-2000:]
    assert "cannot reach the target" in out
    assert "nothing was run" in out
    assert "Traceback" not in out
    assert STUB_SECRET not in out


def _escaped(value: str) -> str:
    return "".join(f"\\u{ord(char):04x}" for char in value)


def test_escaped_echoes_are_found_by_both_echo_checks() -> None:
    """A body that writes the secret with JSON \\u escapes (in full, or only some characters) is an echo."""
    from contract_tests.server.plaid_checks import Answer, echoed_secret_problems

    for written in (_escaped(DEFAULT_SECRET), DEFAULT_SECRET[:3] + _escaped(DEFAULT_SECRET[3:])):
        text = json.dumps({"request_id": f"r-{len(written)}", "error_message": "bad secret SECRET"})
        content = text.replace("SECRET", written).encode()
        ledger = Ledger(secret="another-secret-value", known_tokens={})
        problems = _observe(ledger, content, status=400)
        assert any("PLAID-SECRET (inside a JSON string" in p for p in problems), problems
        answer = Answer(400, JSON, content)
        assert echoed_secret_problems(answer, [DEFAULT_SECRET]), written
    assert not echoed_secret_problems(Answer(400, JSON, b'{"error_message": "\\u0061"}'), [DEFAULT_SECRET])


def test_sanitize_hides_every_form_of_every_sensitive_value() -> None:
    from contract_tests.server.summary import sanitize

    secret, token = "sec9d8c7b6a5f4e3d2c1b0a9f8e7d6c", "access-sandbox-1b2c3d4e5f60"
    variables = {secret: "PLAID_SECRET", token: "PLAID_ACCESS_TOKEN"}
    forms = [
        _escaped(secret),
        _escaped(secret).upper().replace("\\U", "\\u"),
        "\\" + _escaped(token),  # a repr of the JSON text doubles the backslashes
        secret[:4] + _escaped(secret[4:]),
        base64.b64encode(secret.encode()).decode(),
        secret.encode().hex(),
        "".join(f"%{ord(char):02X}" for char in token),
    ]
    text = "\n".join([f"curl -H 'PLAID-SECRET: {secret}'", f"message: {token}", *forms])
    cleaned = sanitize(text, variables, (secret, token))
    assert """curl -H 'PLAID-SECRET: '"$PLAID_SECRET"''""" in cleaned
    assert "message: $PLAID_ACCESS_TOKEN" in cleaned
    assert cleaned.splitlines()[2:] == ["[REDACTED]"] * len(forms), cleaned
    assert sanitize("nothing to hide \\u0073", variables, (secret, token)) == "nothing to hide \\u0073"


def test_escaped_secret_echo_is_caught_and_never_printed(tmp_path: Path) -> None:
    """The suite BY URL against a server that echoes PLAID-SECRET \\u-escaped in error_message: the echo check
    fails, and neither the secret nor its escaped form reaches stdout or the JUnit XML."""
    junit = tmp_path / "echo.xml"
    with running_server(CATALOGUE["echoes_secret_escaped"].build()) as base_url:
        done = _suite({**STUB_ENV, "PLAID_BASE_URL": base_url}, f"--junitxml={junit}", "-k", "test_negative")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert "plaid_secret_not_echoed" in out, out[-3000:]
    written = out + junit.read_text()
    escaped = _escaped(STUB_SECRET)
    assert STUB_SECRET not in written
    assert escaped[: 6 * 8] not in written
    assert escaped[-6 * 8 :] not in written
