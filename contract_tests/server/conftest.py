"""pytest wiring of the server contract suite: target set-up, secret scrubbing, the run summary.

Lives in contract_tests/server/ on purpose: nothing here leaks into the client or webhook suites.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

from contract_tests.server import session
from contract_tests.server.schema import operation_path_from_env
from contract_tests.server.summary import sanitize
from contract_tests.server.target import TargetError

SUMMARY_JSON_ENV = "PLAID_CONTRACT_SUMMARY_JSON"
HERE = Path(__file__).resolve().parent


def _ours(nodeid: str) -> bool:
    """Whether a test belongs to this suite (other suites may run in the same session)."""
    return "contract_tests/server/" in nodeid.replace("\\", "/")


ONLY_ENV = "PLAID_CONTRACT_ONLY"
KINDS = {"scenarios": "test_scenarios.py", "generated": "test_generated.py"}


def pytest_configure(config: pytest.Config) -> None:
    try:
        only = os.environ.get(ONLY_ENV, "").strip()
        if only and only not in KINDS:
            raise ValueError(f"{ONLY_ENV} must be one of {', '.join(KINDS)}, got {only!r}")
        operation_path_from_env()
        session.start()
    except (TargetError, ValueError) as exc:
        raise pytest.UsageError(f"contract suite: {exc}") from None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """PLAID_CONTRACT_ONLY=scenarios|generated: the other kind of test module is not even imported."""
    only = os.environ.get(ONLY_ENV, "").strip()
    if only in KINDS and collection_path.name in KINDS.values() and collection_path.name != KINDS[only]:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PLAID_CONTRACT_OPERATION=refresh|key_get: scenarios of the other operation are deselected."""
    name = os.environ.get("PLAID_CONTRACT_OPERATION", "").strip()
    if not name:
        return
    keep = [
        i
        for i in items
        if not _ours(i.nodeid) or "test_scenario[" not in i.nodeid or f"[{name}: " in i.nodeid
    ]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_unconfigure(config: pytest.Config) -> None:
    session.stop()


def _scrub_report(report: pytest.TestReport) -> None:
    """The safety net: whatever a report says, the target's credentials and tokens are scrubbed from it before
    pytest prints it or writes it to the JUnit XML. Runs first on every report, schemathesis' per-operation
    subtest reports included (they never pass through pytest_runtest_makereport)."""
    target = session.target()
    secrets, variables = target.secrets, target.variables()
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):  # tuples: skip reasons
        text = str(report.longrepr)
        cleaned = sanitize(text, variables, secrets)
        if cleaned != text:
            report.longrepr = cleaned
    report.sections = [(title, sanitize(content, variables, secrets)) for title, content in report.sections]


@pytest.hookimpl(trylast=True)
def pytest_exception_interact(
    node: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> None:
    # schemathesis rewrites the longrepr of its failures here, after the report was logged: scrub again.
    if _ours(report.nodeid):
        _scrub_report(report)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """schemathesis makes one item per operation of a generated test, all with the node id `test_positive`
    (or `test_negative`): their reports get the operation too, so JUnit names carry operation and mode."""
    report = yield
    label = getattr(item, "operation_label", None)
    if isinstance(label, str) and label and _ours(report.nodeid) and not report.nodeid.endswith("]"):
        report.nodeid = f"{report.nodeid}[{label}]"
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _ours(report.nodeid):
        return
    _scrub_report(report)
    stats = session.stats()
    kind = "generated" if "test_generated" in report.nodeid else "scenario"
    if report.skipped:
        stats.outcomes[(kind, "skipped")] += 1
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        stats.skips.append((report.nodeid.rsplit("::", 1)[-1], str(reason).removeprefix("Skipped: ")))
    elif report.when == "call":
        stats.outcomes[(kind, report.outcome)] += 1
        if kind == "generated":
            stats.generated_seconds += report.duration
        elif report.failed:  # generated tests record their own, structured failures
            stats.record_report_failure(report.nodeid, str(report.longrepr))
    elif report.failed:
        stats.outcomes[(kind, f"{report.when} error")] += 1
        stats.record_report_failure(report.nodeid, str(report.longrepr))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = session.stats()
    terminalreporter.section("Plaid contract summary")
    for line in stats.render():
        terminalreporter.write_line(line)
    path = os.environ.get(SUMMARY_JSON_ENV, "").strip()
    if path:
        stats.write_json(Path(path))
        terminalreporter.write_line(f"summary written to {path}")
