"""What a run did, for the readable summary `make contract` prints and the JSON the benchmark reuses.

The conftest owns one `RunStats`; the generated tests record each case they send, and failing tests record
their (already sanitized) schemathesis report. Everything shown passes through `sanitize` with the target's
secrets first (every form of every sensitive value: raw, `\\u`-escaped, percent, base64, hex).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from schemathesis import Case

from contract_tests.server.ledger import encodings
from plaid_refresh.redaction import MIN_CREDENTIAL_CHARS, REDACTED, scrub

_FAILURE_TITLE = re.compile(r"^- (ST\d+ .+|\w+(?:Error|Timeout|Exception): .+)$", re.MULTILINE)
_CURL = re.compile(r"^\s*(?:reproduce: )?(curl .+)$", re.MULTILINE)


def scrub_to_variables(text: str, variables: Mapping[str, str]) -> str:
    """`text` with each sensitive value replaced by the variable that names it: `'"$PLAID_SECRET"'` inside a
    curl line (whose arguments are single-quoted), `$PLAID_SECRET` elsewhere. Longest values first."""
    ordered = sorted(variables.items(), key=lambda item: -len(item[0]))
    lines = []
    for line in text.split("\n"):
        in_curl = "curl " in line
        for value, name in ordered:
            line = line.replace(value, f"'\"${name}\"'" if in_curl else f"${name}")
        lines.append(line)
    return "\n".join(lines)


def _char_forms(char: str) -> str:
    """A pattern for one character of a sensitive value: itself, or written as a `\\uXXXX` / `\\xXX` escape
    (any number of backslashes, any case of hex digit) or as a `%XX` percent escape."""
    code = ord(char)
    forms = [re.escape(char), rf"\\+u(?i:{code:04x})"]
    if code < 0x100:
        forms += [rf"\\+x(?i:{code:02x})", rf"%(?i:{code:02x})"]
    return "(?:" + "|".join(forms) + ")"


@lru_cache(maxsize=64)
def _escaped_pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = ["".join(_char_forms(char) for char in value) for value in secrets]
    return re.compile("|".join(alternatives))


def sanitize(text: str, variables: Mapping[str, str], secrets: Iterable[str]) -> str:
    """`text` safe to print or write: each sensitive value becomes the variable naming it (see
    `scrub_to_variables`), and every form of it (raw, JSON `\\u`-escaped in full or in part, `\\x`- or
    percent-escaped, base64/base64url, hex) becomes REDACTED."""
    values = sorted({v for v in [*secrets, *variables] if len(v) >= MIN_CREDENTIAL_CHARS}, key=len)[::-1]
    text = scrub_to_variables(text, variables)
    forms = [form.decode("utf-8", "replace") for value in values for form in encodings(value).values()]
    text = scrub(text, [*values, *(form for form in forms if len(form) >= MIN_CREDENTIAL_CHARS)])
    if values:
        text = _escaped_pattern(tuple(values)).sub(REDACTED, text)
    return text


@dataclass
class Failure:
    test: str
    titles: list[str]
    curl: str | None
    detail: str


@dataclass
class RunStats:
    target: str
    secrets: tuple[str, ...]
    variables: Mapping[str, str] = field(default_factory=dict)  # sensitive value -> variable name
    checks: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    cases: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (operation, phase, mode)
    generated_seconds: float = 0.0
    failures: dict[str, Failure] = field(default_factory=dict)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, outcome)
    skips: list[tuple[str, str]] = field(default_factory=list)
    oracle: Any = None  # the differential oracle (oracle.Oracle) when it ran

    def record_case(self, case: Case[Any], mode: str) -> None:
        phase = case.meta.phase.name.value if case.meta is not None else "unknown"
        # A negative run also draws cases it could not make invalid; count them under what they are.
        actual = case.meta.generation.mode.value if case.meta is not None else mode
        self.cases[(case.operation.label, phase, actual)] += 1

    def record_failure(self, test: str, message: str) -> None:
        """Keep the last report per test: after shrinking, hypothesis re-raises the minimal example last."""
        text = sanitize(message, self.variables, self.secrets)
        titles = list(dict.fromkeys(_FAILURE_TITLE.findall(text)))
        curls = _CURL.findall(text)
        self.failures[test] = Failure(
            test=test, titles=titles, curl=curls[-1] if curls else None, detail=text
        )

    def record_report_failure(self, test: str, text: str) -> None:
        """A failed test that did not go through schemathesis (a scenario): keep its assertion message."""
        if test in self.failures:
            return
        text = sanitize(text, self.variables, self.secrets)
        lines = [line for line in text.splitlines() if line.startswith("E ")]
        detail = "\n".join(line[2:].strip() for line in lines[-12:]) or text[-1500:]
        curls = _CURL.findall(detail)
        detail = "\n".join(line for line in detail.splitlines() if not _CURL.match(line))
        self.failures[test] = Failure(test=test, titles=[], curl=curls[-1] if curls else None, detail=detail)

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())

    def as_dict(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.started
        per_phase: Counter[str] = Counter()
        for (_, phase, mode), count in self.cases.items():
            per_phase[f"{phase}/{mode}"] += count
        return {
            "target": self.target,
            "wall_seconds": round(wall, 3),
            "generated_cases": self.total_cases,
            "generated_seconds": round(self.generated_seconds, 3),
            "cases_per_second": round(self.total_cases / self.generated_seconds, 1)
            if self.generated_seconds
            else None,
            "cases_by_phase_mode": dict(sorted(per_phase.items())),
            "checks": self.checks,
            "outcomes": {f"{kind}/{outcome}": n for (kind, outcome), n in sorted(self.outcomes.items())},
            "oracle": self.oracle_line(),
            "failures": [
                {"test": f.test, "checks": f.titles, "curl": f.curl} for f in self.sorted_failures()
            ],
        }

    def sorted_failures(self) -> list[Failure]:
        """Failures in a stable order (by test name), whatever order the tests finished in."""
        return [self.failures[name] for name in sorted(self.failures)]

    def oracle_line(self) -> str:
        if self.oracle is None:
            return "differential oracle: off (the embedded reference server, or PLAID_CONTRACT_ORACLE=off)"
        return str(self.oracle.summary_line())

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")

    def render(self) -> list[str]:
        data = self.as_dict()
        lines = [f"target: {self.target}"]
        operations = sorted({op for op, _, _ in self.cases})
        phases = sorted({(phase, mode) for _, phase, mode in self.cases}, key=_phase_order)
        if phases:
            header = (
                f"  {'generated cases':<34}"
                + "".join(f"{p + '/' + m:>18}" for p, m in phases)
                + f"{'total':>8}"
            )
            lines += ["", header]
            for op in operations:
                counts = [self.cases.get((op, p, m), 0) for p, m in phases]
                lines.append(f"  {op:<34}" + "".join(f"{c:>18}" for c in counts) + f"{sum(counts):>8}")
        lines += ["", f"checks on every response ({len(self.checks)}): " + ", ".join(self.checks)]
        outcome_text = ", ".join(f"{k}: {v}" for k, v in data["outcomes"].items())
        lines.append(self.oracle_line())
        lines.append(f"tests: {outcome_text}")
        for test, reason in self.skips:
            lines.append(f"  skipped {test}: {reason}")
        rate = f"{data['cases_per_second']:.0f} cases/s" if data["cases_per_second"] else "n/a"
        # One line, "N cases ... R cases/s": the benchmark (bench/contract_speed.py) reads these two figures.
        lines.append(
            f"time: {data['wall_seconds']:.1f} s wall; {self.total_cases} cases generated and checked in "
            f"{data['generated_seconds']:.1f} s = {rate}"
        )
        if self.failures:
            lines += ["", f"FAILURES ({len(self.failures)}):"]
            for failure in self.sorted_failures():
                lines.append(f"  x {failure.test}")
                for title in failure.titles:
                    lines.append(f"      {title}")
                if not failure.titles:
                    lines += [f"      {line}" for line in failure.detail.splitlines()[:8]]
                if failure.curl:
                    lines.append(f"      reproduce: {failure.curl}")
        else:
            lines += ["", "RESULT: the target conforms to the contract"]
        return lines


_ORDER = {"examples": 0, "coverage": 1, "fuzzing": 2, "stateful": 3}


def _phase_order(key: tuple[str, str]) -> tuple[int, str]:
    return _ORDER.get(key[0], 9), key[1]
