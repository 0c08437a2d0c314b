"""The benchmark report: ratios to the ceilings, valid Markdown tables, JSON with the same data, skips and
crashes recorded without stopping the run. No benchmark runs here (they measure; tests assert behaviour)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from tests.bench.__main__ import Benchmark, main
from tests.bench.report import JSON_NAME, MARKDOWN_NAME, Figure, Section, Skipped, machine_facts, write_report

FACTS = {
    "date": "2026-01-02 03:04:05 UTC",
    "commit": "abc1234",
    "cpu_count": 2,
    "cpus_usable": 2,
    "cpu_model": "Test CPU",
    "load_average": [0.5, 0.4, 0.3],
    "platform": "Linux",
    "python": "3.11.7",
    "versions": {"numpy": "2.0", "aiohttp": "3.10"},
}
RUN = {"quick": True, "only": ["resolver", "regional", "crypto"], "seconds": 12.0}


def _sections() -> list[Section]:
    return [
        Section(
            "resolver",
            "Resolver",
            "Cached answers.",
            figures=[
                Figure(
                    "cached | resolution", 21_600.0, "req/s", "higher", "bare handler", 27_000.0, "goal 0.80"
                ),
                Figure("cold resolution p50", 4.2, "ms", "lower"),
            ],
        ),
        Section(
            "regional",
            "Regional",
            "Reports.",
            figures=[Figure("province p50", 42.0, "ms", "lower", "bare bincount", 20.0)],
        ),
        Section("crypto", "Crypto", "Signatures.", status="skipped", reason="wrk is not installed"),
        Section("broken", "Broken", "Crashes.", status="crashed", reason="RuntimeError: boom"),
    ]


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row, split on pipes that are not escaped."""
    assert line.startswith("| "), line
    assert line.endswith(" |"), line
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])]


def _tables(markdown: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    previous_was_row = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not previous_was_row:
                tables.append([])
            tables[-1].append(_cells(line))
        previous_was_row = line.startswith("|")
    return tables


def test_ratio_is_value_over_ceiling_and_words_its_direction() -> None:
    rate = Figure("cached", 21_600.0, "req/s", "higher", "bare", 27_000.0)
    time = Figure("query", 42.0, "ms", "lower", "bincount", 20.0)
    assert rate.ratio == pytest.approx(0.8)
    assert rate.ratio_text() == "0.80× the rate"
    assert time.ratio == pytest.approx(2.1)
    assert time.ratio_text() == "2.10× the time"
    assert Figure("alone", 1.0, "ms", "lower").ratio is None
    assert Figure("zero ceiling", 1.0, "ms", "lower", "bare", 0.0).ratio is None
    assert Figure("no ceiling", 1.0, "ms", "lower").ratio_text() == ""


def test_markdown_tables_are_well_formed(tmp_path: Path) -> None:
    markdown = write_report(_sections(), FACTS, tmp_path, run=RUN)
    assert (tmp_path / MARKDOWN_NAME).read_text("utf-8") == markdown
    tables = _tables(markdown)
    # Machine facts, the summary, and one table per section that has figures.
    assert len(tables) == 4
    for table in tables:
        header, separator, *rows = table
        assert all(re.fullmatch(r":?-{3,}:?", cell) for cell in separator), separator
        assert len(separator) == len(header)
        assert rows
        assert all(len(row) == len(header) for row in rows), table
    facts = {row[0]: row[1] for row in tables[0][2:]}
    assert facts["Commit"] == "abc1234"
    assert "Test CPU" in facts["CPUs"]
    assert "numpy 2.0" in facts["Libraries"]
    summary = {row[0]: row[1] for row in tables[1][2:]}
    assert summary["crypto"] == "skipped: wrk is not installed"
    assert summary["broken"] == "crashed: RuntimeError: boom"
    resolver = tables[2]
    assert resolver[2][0] == "cached \\| resolution"  # an escaped pipe stays inside its cell
    assert resolver[2][-2] == "0.80× the rate"
    assert tables[3][2][-2] == "2.10× the time"
    assert "**Skipped:** wrk is not installed" in markdown
    assert "**Crashed:** RuntimeError: boom" in markdown


def test_json_has_the_same_figures_and_their_ratios(tmp_path: Path) -> None:
    sections = _sections()
    sections[1].figures.append(Figure("not finite", math.inf, "ms", "lower", "bare", 1.0))
    write_report(sections, FACTS, tmp_path, run=RUN)
    report = json.loads((tmp_path / JSON_NAME).read_text("utf-8"))
    assert report["run"] == RUN
    assert report["machine"]["cpu_model"] == "Test CPU"
    by_name = {section["name"]: section for section in report["sections"]}
    assert list(by_name) == ["resolver", "regional", "crypto", "broken"]
    cached, cold = by_name["resolver"]["figures"]
    assert cached["ratio"] == pytest.approx(0.8)
    assert cached["ceiling_value"] == 27_000.0
    assert cached["better"] == "higher"
    assert cold["ratio"] is None
    assert cold["ceiling_name"] is None
    province, not_finite = by_name["regional"]["figures"]
    assert province["ratio"] == pytest.approx(2.1)
    assert not_finite["value"] is None
    assert not_finite["ratio"] is None
    assert by_name["crypto"]["status"] == "skipped"
    assert by_name["crypto"]["reason"] == "wrk is not installed"
    assert by_name["crypto"]["figures"] == []


def test_machine_facts_describe_this_machine() -> None:
    facts = machine_facts()
    assert isinstance(facts["cpu_count"], int)
    assert facts["cpu_count"] >= 1
    assert facts["python"].count(".") == 2
    assert set(facts["versions"]) >= {"numpy", "aiohttp"}


# Benchmarks for the runner below, imported by name as the real ones are.


def measures(quick: bool) -> list[Figure]:
    return [Figure("answer", 42.0 if quick else 0.0, "ms", "lower", "bare", 21.0)]


def cannot_run(quick: bool) -> list[Figure]:
    raise Skipped("no PostgreSQL answers")


def crashes(quick: bool) -> list[Figure]:
    raise RuntimeError("boom\nsecond line")


BENCHMARKS = (
    Benchmark("ok", "Measures", "One figure.", "tests.bench.test_report:measures"),
    Benchmark("skip", "Skips", "Cannot run here.", "tests.bench.test_report:cannot_run"),
    Benchmark("crash", "Crashes", "Raises.", "tests.bench.test_report:crashes"),
    Benchmark("missing", "Missing", "Its module is gone.", "tests.bench.no_such_module:run"),
)


def test_a_crash_is_recorded_the_others_run_and_the_exit_status_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--quick", "--out", str(tmp_path)], BENCHMARKS)
    assert status == 1
    report = json.loads((tmp_path / JSON_NAME).read_text("utf-8"))
    outcomes = {section["name"]: (section["status"], section["reason"]) for section in report["sections"]}
    assert outcomes == {
        "ok": ("ok", ""),
        "skip": ("skipped", "no PostgreSQL answers"),
        "crash": ("crashed", "RuntimeError: boom"),
        "missing": ("crashed", "ModuleNotFoundError: No module named 'tests.bench.no_such_module'"),
    }
    assert report["sections"][0]["figures"][0]["ratio"] == pytest.approx(2.0)
    assert report["run"]["quick"] is True
    assert capsys.readouterr().out == (tmp_path / MARKDOWN_NAME).read_text("utf-8")


def test_only_runs_the_named_benchmarks_and_a_skip_is_not_a_failure(tmp_path: Path) -> None:
    assert main(["--only", "skip,ok", "--out", str(tmp_path)], BENCHMARKS) == 0
    report = json.loads((tmp_path / JSON_NAME).read_text("utf-8"))
    assert [section["name"] for section in report["sections"]] == ["ok", "skip"]
    assert report["run"]["quick"] is False


def test_only_refuses_an_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "ok,nonsense", "--out", str(tmp_path)], BENCHMARKS)
    assert exit_info.value.code == 2
    assert not (tmp_path / JSON_NAME).exists()
