"""The one shape of every benchmark's results, and the report `make bench` writes from them.

A benchmark returns a list of `Figure` s: a measured value and, where there is one, the *ceiling* it is
compared with, a bare baseline measured in the same run on the same machine (a bare aiohttp handler, a bare
numpy pass, the cryptography library's own call). Figures on a shared 2-core machine move by tens of
percent from one run to the next; their ratios to a ceiling measured minutes apart move much less, so the
ratio is what to compare between runs and machines.

`write_report` writes ``bench-report.md`` (one Markdown table per benchmark, under a header of machine facts)
and ``bench-report.json`` (the same data) and returns the Markdown.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Literal

REPOSITORY: Final = Path(__file__).resolve().parents[2]
MARKDOWN_NAME: Final = "bench-report.md"
JSON_NAME: Final = "bench-report.json"
VERSIONS_OF: Final = ("numpy", "aiohttp", "uvloop", "SQLAlchemy", "aiosqlite", "cryptography", "pyld")

Better = Literal["higher", "lower"]
Status = Literal["ok", "skipped", "crashed"]


class Skipped(Exception):
    """Raised by a benchmark that cannot run here (no wrk, no PostgreSQL); the message is the reason."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured value, with the bare baseline (ceiling) measured in the same run when there is one.

    ``better`` says which way is good: ``higher`` for rates, ``lower`` for times and sizes. The ceiling is
    in the same unit as the value.
    """

    name: str
    value: float
    unit: str
    better: Better
    ceiling_name: str | None = None
    ceiling_value: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value ÷ ceiling, or None without a (positive, finite) ceiling."""
        if self.ceiling_value is None or not math.isfinite(self.ceiling_value) or self.ceiling_value <= 0:
            return None
        return self.value / self.ceiling_value

    def ratio_text(self) -> str:
        """The ratio as the report words it: "0.85× the rate" (higher is better), "2.10× the time"."""
        ratio = self.ratio
        if ratio is None:
            return ""
        what = "the rate" if self.better == "higher" else ("the time" if _is_time(self.unit) else "the size")
        return f"{_ratio(ratio)}× {what}"

    def as_json(self) -> dict[str, Any]:
        """The figure, its ratio included, as JSON-ready data (non-finite numbers become null)."""
        return {
            "name": self.name,
            "value": _finite(self.value),
            "unit": self.unit,
            "better": self.better,
            "ceiling_name": self.ceiling_name,
            "ceiling_value": None if self.ceiling_value is None else _finite(self.ceiling_value),
            "ratio": None if self.ratio is None else _finite(self.ratio),
            "note": self.note,
        }


@dataclass(slots=True)
class Section:
    """One benchmark's outcome: its figures, or why it was skipped or how it crashed."""

    name: str
    title: str
    description: str
    status: Status = "ok"
    figures: list[Figure] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The section as JSON-ready data."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "figures": [figure.as_json() for figure in self.figures],
        }


def _is_time(unit: str) -> bool:
    return unit in {"s", "ms", "µs", "ns"} or unit.startswith(("ms/", "µs/", "s/"))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _number(value: float) -> str:
    """A figure with the digits that mean something: 27,114 · 612 · 48.3 · 2.15 · 0.0312."""
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _ratio(value: float) -> str:
    """A ratio: 0.80 · 2.10 · 31.9 · 1,375 · 0.0045."""
    if not math.isfinite(value) or abs(value) >= 10:
        return _number(value)
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.2g}"


# --------------------------------------------------------------------------------------------------------------
# Machine facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text("utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in {"model name", "Model", "cpu model"}:
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*arguments: str) -> str:
    try:
        done = subprocess.run(
            ["git", *arguments], cwd=REPOSITORY, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> dict[str, Any]:
    """What the figures depend on: CPUs, load, Python and library versions, the commit, the date."""
    commit = _git("rev-parse", "--short", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "commit": commit or "unknown",
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "load_average": [round(load, 2) for load in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {name: _version(name) for name in VERSIONS_OF},
    }


# --------------------------------------------------------------------------------------------------------------
# Writing


LEGEND: Final = (
    "Each ceiling is a bare baseline measured in the same run on the same machine. Ratio = value ÷ ceiling. "
    "For rates (↑ higher is better) 1.00× is the ceiling's rate and 0.80× is 80 % of it; for times "
    "(↓ lower is better) 2.10× the time means 2.1 times as long as the bare baseline."
)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


FIGURE_COLUMNS: Final = (
    "Figure",
    "Value",
    "Unit",
    "Better",
    "Ceiling: bare baseline, same run",
    "Ceiling value",
    "Ratio",
    "Note",
)


def section_markdown(section: Section) -> str:
    """One benchmark as a Markdown heading, its description and its table (or why it has none)."""
    lines = [f"## {section.name}: {section.title}", "", section.description, ""]
    if section.status == "skipped":
        lines.append(f"**Skipped:** {section.reason}")
    elif section.status == "crashed":
        lines.append(f"**Crashed:** {section.reason}")
    if section.figures:
        if section.status != "ok":
            lines.append("")
        lines += [_row(FIGURE_COLUMNS), _row(["---", "---:", "---", ":---:", "---", "---:", "---:", "---"])]
        for figure in section.figures:
            lines.append(
                _row(
                    [
                        figure.name,
                        _number(figure.value),
                        figure.unit,
                        "↑" if figure.better == "higher" else "↓",
                        figure.ceiling_name or "",
                        "" if figure.ceiling_value is None else _number(figure.ceiling_value),
                        figure.ratio_text(),
                        figure.note,
                    ]
                )
            )
    elif section.status == "ok":
        lines.append("(no figures)")
    lines.append("")
    return "\n".join(lines)


def render_markdown(sections: Sequence[Section], facts: Mapping[str, Any], *, run: Mapping[str, Any]) -> str:
    """The whole report: title, machine facts, a summary of the benchmarks, then one section each."""
    versions = " · ".join(f"{name} {version}" for name, version in facts.get("versions", {}).items())
    load = facts.get("load_average")
    mode = "quick (small sizes: checks the machinery, figures not comparable)" if run.get("quick") else "full"
    lines = [
        "# carbonid benchmarks",
        "",
        _row(["Machine and run", ""]),
        _row(["---", "---"]),
        _row(["Date", facts.get("date", "")]),
        _row(["Commit", facts.get("commit", "")]),
        _row(
            [
                "CPUs",
                f"{facts.get('cpu_count')} ({facts.get('cpus_usable')} usable) · {facts.get('cpu_model')}",
            ]
        ),
        _row(["Load average at start", " / ".join(str(x) for x in load) if load else "unknown"]),
        _row(["Platform", facts.get("platform", "")]),
        _row(["Python", facts.get("python", "")]),
        _row(["Libraries", versions]),
        _row(["Mode", mode]),
        _row(["Run time", f"{run.get('seconds', 0.0):.1f} s"]),
        "",
        LEGEND,
        "",
        _row(["Benchmark", "Status", "Figures", "Time"]),
        _row(["---", "---", "---:", "---:"]),
    ]
    for section in sections:
        status = section.status if not section.reason else f"{section.status}: {section.reason}"
        lines.append(_row([section.name, status, len(section.figures), f"{section.seconds:.1f} s"]))
    lines.append("")
    lines += [section_markdown(section) for section in sections]
    return "\n".join(lines).rstrip() + "\n"


def report_json(sections: Sequence[Section], facts: Mapping[str, Any], *, run: Mapping[str, Any]) -> str:
    """The report's data as JSON: the run, the machine facts and every section with its figures."""
    document = {
        "run": dict(run),
        "machine": dict(facts),
        "sections": [section.as_json() for section in sections],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def write_report(
    sections: Sequence[Section], facts: Mapping[str, Any], out: Path, *, run: Mapping[str, Any]
) -> str:
    """Write ``bench-report.md`` and ``bench-report.json`` into ``out`` (created); return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(sections, facts, run=run)
    (out / MARKDOWN_NAME).write_text(markdown, "utf-8")
    (out / JSON_NAME).write_text(report_json(sections, facts, run=run), "utf-8")
    return markdown


def log(message: str) -> None:
    """A progress line on stderr (stdout carries the report)."""
    print(message, file=sys.stderr, flush=True)
