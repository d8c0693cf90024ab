"""Each benchmark's table and goals from synthetic measurements: the ratio math in context."""

from __future__ import annotations

import os

import pytest

from bench import __main__ as bench_main
from bench import clients, imports, procs, servers
from bench.loadgen import Credentials, LoadResult
from bench.results import Section


def _goal(section: Section, prefix: str) -> float:
    matches = [g.measured for g in section.goals if g.figure.startswith(prefix)]
    assert len(matches) == 1, [g.figure for g in section.goals]
    return matches[0]


def test_clients_goals_are_paired_ratios_to_raw_httpx_of_the_same_mode() -> None:
    section = Section("clients", "t")
    sync = {
        "raw httpx": [400e-6, 800e-6, 400e-6],
        "this project's client": [420e-6, 840e-6, 440e-6],  # 1.05, 1.05, 1.10 -> 1.05
        "plaid-python": [380e-6, 760e-6, 380e-6],
    }
    asynchronous = {"raw httpx": [2e-3, 2e-3, 2e-3], "this project's client": [3e-3, 2e-3, 4e-3]}
    clients._tabulate(section, sync, asynchronous, "cpus", clients.SMOKE)
    assert _goal(section, "client per call, sync (this project's client)") == pytest.approx(1.05)
    assert _goal(section, "client per call, async x32 (this project's client)") == pytest.approx(1.5)
    rows = {(r[0], r[1].split(",")[0]): r for r in section.tables[0].rows}
    assert rows[("this project's client", "sync")][2] == "440.0"  # median µs
    assert rows[("plaid-python", "sync")][4] == "1.00x"
    assert rows[("raw httpx", "sync")][4] == "1.05x"


def test_clients_fall_back_to_the_generated_client_and_say_so() -> None:
    section = Section("clients", "t")
    sync = {"raw httpx": [1.0], "generated client": [1.2], "plaid-python": [1.0]}
    clients._tabulate(section, sync, {"raw httpx": [1.0], "generated client": [1.0]}, "cpus", clients.SMOKE)
    assert _goal(section, "client per call, sync (generated client)") == pytest.approx(1.2)
    assert any("stands in its slot" in note for note in section.notes)


def test_imports_goals_compare_time_and_rss_with_httpx_and_plaid_python() -> None:
    def samples(t: float, m: float) -> list[imports.Sample]:
        return [imports.Sample(t, m, t + 0.01), imports.Sample(t, m, t + 0.01)]

    found = {
        "httpx alone": "import httpx",
        "this project's client": "x",
        "plaid-python transactions API": "y",
    }
    section = imports._tabulate(
        found,
        {
            "httpx alone": samples(0.050, 24.0),
            "this project's client": samples(0.055, 26.4),
            "plaid-python transactions API": samples(0.140, 44.0),
        },
        imports.SMOKE,
    )
    assert _goal(section, "import time, this project's client / httpx") == pytest.approx(1.1)
    assert _goal(section, "import peak RSS, this project's client / httpx") == pytest.approx(1.1)
    assert _goal(section, "import time, this project's client / plaid-python") == pytest.approx(0.055 / 0.140)
    assert _goal(section, "import peak RSS, this project's client / plaid-python") == pytest.approx(0.6)
    assert {g.status for g in section.goals} == {"met", "MISSED"}


def _load(requests: int, seconds: float, non_2xx: int = 0) -> LoadResult:
    return LoadResult("wrk", 32, seconds, requests, non_2xx, 0, 0.5, 2.0, server_cpu_s=requests * 40e-6)


def test_servers_ratios_and_status_totals() -> None:
    floor = servers.Server(servers.FLOOR, [], 1, {1: [_load(10_000, 1.0)], 32: [_load(50_000, 1.0)]})
    reference = servers.Server(
        servers.REFERENCE, [], 2, {1: [_load(5_000, 1.0)], 32: [_load(30_000, 1.0, non_2xx=7)]}
    )
    prism = servers.Server(servers.PRISM_DEFAULT, [], 3, {1: [_load(1_000, 1.0)], 32: [_load(2_000, 1.0)]})
    section = Section("servers", "t")
    creds = Credentials("id", "secret")
    servers._tabulate(section, [floor, reference, prism], {}, servers.SMOKE, True, "cpus", creds)
    assert _goal(section, "reference server at 32 connections / raw ASGI floor") == pytest.approx(0.6)
    assert _goal(section, "reference server at 32 connections / Prism") == pytest.approx(15.0)
    row = next(r for r in section.tables[0].rows if r[0] == servers.REFERENCE and r[1] == "32")
    assert row[2] == "30,000"
    assert row[5] == "40.0"  # server CPU µs per request
    assert (row[8], row[9]) == ("29993", "7")  # 2xx, non-2xx


def test_cpu_seconds_of_a_live_and_a_missing_process() -> None:
    assert procs.cpu_seconds(os.getpid()) >= 0
    assert procs.cpu_seconds(2**22 + 12345) != procs.cpu_seconds(2**22 + 12345)  # NaN


def test_unknown_benchmark_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        bench_main.main(["--only", "nope"])
    assert exc.value.code == 2


def test_instruction_counts_become_ratios_to_raw_httpx_and_plaid_python() -> None:
    section = Section("clients", "1")
    counted = {"raw httpx": 2_000_000.0, "plaid-python": 1_600_000.0, "this project's client": 2_100_000.0}
    clients._tabulate_instructions(section, counted, clients.Config())
    (table,) = section.tables
    rows = {row[0]: row for row in table.rows}
    assert rows["this project's client"][1:] == ["2,100,000", "1.05x", "1.31x"]
    assert rows["raw httpx"][2] == "1.00x"
    assert not section.goals  # a figure to read, not a goal


def test_without_valgrind_the_report_says_so() -> None:
    section = Section("clients", "1")
    clients._tabulate_instructions(section, {}, clients.Config())
    assert not section.tables
    assert "valgrind not found" in section.notes[-1]


def test_the_callgrind_total_is_read_from_valgrind_stderr() -> None:
    from bench.instructions import _COLLECTED

    found = _COLLECTED.search("==123== Events    : Ir\n==123== Collected : 1987654321\n==123==\n")
    assert found is not None
    assert int(found.group(1)) == 1987654321
