"""The harness logic of bench/: statistics, goals, the report writer. No timing is asserted."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import report, stats
from bench.results import Goal, Section, Table, fmt, fmt_ratio


def test_median_and_percentile() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert math.isnan(stats.median([]))
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert stats.percentile(values, 50) == pytest.approx(50.5)
    assert stats.percentile(values, 99) == pytest.approx(99.01)
    assert stats.percentile(values, 0) == 1.0
    assert stats.percentile(values, 100) == 100.0
    assert stats.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError, match="percentile"):
        stats.percentile(values, 101)


def test_ratio_handles_missing_figures() -> None:
    assert stats.ratio(3.0, 2.0) == 1.5
    assert math.isnan(stats.ratio(1.0, 0.0))
    assert math.isnan(stats.ratio(math.nan, 1.0))


def test_paired_ratio_is_the_median_of_per_round_ratios() -> None:
    # Round-by-round ratios 2.0, 1.0, 3.0 -> median 2.0; the ratio of the medians would give 3.0.
    values = [2.0, 10.0, 3.0]
    references = [1.0, 10.0, 1.0]
    assert stats.paired_ratio(values, references) == 2.0
    assert stats.median(values) / stats.median(references) == 3.0
    with pytest.raises(ValueError, match="length"):
        stats.paired_ratio([1.0], [1.0, 2.0])
    assert math.isnan(stats.paired_ratio([], []))


@pytest.mark.parametrize(
    ("measured", "comparison", "limit", "status"),
    [
        (1.04, "<=", 1.05, "met"),
        (1.05, "<=", 1.05, "met"),
        (1.06, "<=", 1.05, "MISSED"),
        (0.6, ">=", 0.5, "met"),
        (0.4, ">=", 0.5, "MISSED"),
        (math.nan, ">=", 0.5, "not measured"),
    ],
)
def test_goal_status(measured: float, comparison: str, limit: float, status: str) -> None:
    goal = Goal("figure", measured, comparison, limit)  # type: ignore[arg-type]
    assert goal.status == status


def test_formatting() -> None:
    assert fmt(math.nan) == "n/a"
    assert fmt(51_700.4) == "51,700"
    assert fmt(397.26) == "397.3"
    assert fmt_ratio(1.0449) == "1.04x"
    assert fmt_ratio(math.nan) == "n/a"


def _sections() -> list[Section]:
    table = Table("", ["client", "µs per call"], [["raw httpx", "400.0"], ["plaid-python", "375.0"]])
    return [
        Section(
            "clients",
            "1. Client cost per call",
            tables=[table],
            goals=[Goal("client / raw httpx", 1.02, "<=", 1.05), Goal("reference / floor", 0.3, ">=", 0.5)],
            notes=["a note"],
            commands=["python -m bench.serve floor --port 1"],
        )
    ]


def test_render_has_header_goals_tables_notes_and_commands() -> None:
    started = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    text = report.render(
        _sections(),
        title="Benchmarks",
        started=started,
        finished=started,
        command="make bench",
        machine_info={
            "nproc": "2",
            "cpu": "Some CPU",
            "ram": "1.0 GiB",
            "os": "Linux",
            "python": "CPython 3.11",
        },
        version_info={"httpx": "0.28.1"},
    )
    assert text.startswith("# Benchmarks\n")
    assert "`make bench`" in text
    assert "2026-01-02 03:04 UTC" in text
    assert "2 CPUs (Some CPU), 1.0 GiB RAM" in text
    assert "httpx 0.28.1" in text
    assert "| client / raw httpx | 1.02x | <= 1.05x | met |" in text
    assert "| reference / floor | 0.30x | >= 0.50x | MISSED |" in text
    assert "| raw httpx | 400.0 |" in text
    assert "- a note" in text
    assert "python -m bench.serve floor --port 1" in text


def test_write_creates_markdown_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out" / "BENCH.md"
    text = report.write(_sections(), markdown_path=out, command="x", started=datetime.now(UTC))
    assert out.read_text() == text
    data = json.loads((tmp_path / "reports" / "bench.json").read_text())
    assert data["sections"][0]["goals"][0]["measured"] == 1.02


def test_machine_and_versions_are_read_from_this_machine() -> None:
    info = report.machine()
    assert set(info) == {"nproc", "cpu", "ram", "os", "python"}
    found = report.versions({"missing-tool": ["definitely-not-a-command-xyz"]})
    assert found["httpx"] == "0.28.1"
    assert found["missing-tool"] == "not installed"


def test_replace_block_rewrites_only_between_the_markers() -> None:
    from bench.report import replace_block

    text = "intro\n<!-- bench:start -->\nold\n<!-- bench:end -->\noutro\n"
    assert (
        replace_block(text, "bench", "new\n")
        == "intro\n<!-- bench:start -->\nnew\n<!-- bench:end -->\noutro\n"
    )
    with pytest.raises(ValueError, match="not found"):
        replace_block("no markers here", "bench", "new")


def test_readme_and_docs_carry_the_markers_make_bench_fills() -> None:
    from bench.procs import ROOT
    from bench.report import replace_block

    for path, name in ((ROOT / "README.md", "bench"), (ROOT / "docs" / "bench.md", "results")):
        assert "new table" in replace_block(path.read_text(encoding="utf-8"), name, "new table")
