"""`make bench`: every benchmark of carbonid, one report (Markdown and JSON) of figures and their ceilings.

    python -m tests.bench [--quick] [--only NAME[,NAME]] [--out DIR] [--list]

Each benchmark returns `tests.bench.report.Figure` s: a measured value beside a bare baseline measured in the
same run (its ceiling). A benchmark that cannot run here (no wrk, no PostgreSQL) is recorded as skipped with
the reason; one that crashes is recorded with its error (the traceback goes to stderr) and the others still
run. The report goes to ``--out`` (``build/bench/``) and to stdout; progress goes to stderr. The exit status
is 1 when a benchmark crashed, else 0. Benchmarks assert nothing (tests assert behaviour).

``--quick`` runs small sizes for a few seconds each: to try the machinery, not to compare figures.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from tests.bench.report import REPOSITORY, Figure, Section, Skipped, log, machine_facts, write_report


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A benchmark: its name for ``--only``, its title and what it measures, and where its function lives
    (imported only when it runs, so a broken import is that benchmark's crash, not the run's)."""

    name: str
    title: str
    description: str
    target: str
    """``module:function``, the function taking ``quick`` and returning a list of figures."""

    def function(self) -> Callable[[bool], list[Figure]]:
        """Import and return the benchmark's function."""
        module, _, attribute = self.target.partition(":")
        return cast(Callable[[bool], list[Figure]], getattr(importlib.import_module(module), attribute))


BENCHMARKS: Final = (
    Benchmark(
        "signatures",
        "Ed25519 and SM2 signatures",
        "Sign and verify 64 bytes with carbonid's keys (`certs.keys`), against the library call underneath.",
        "tests.bench.foundation:signatures",
    ),
    Benchmark(
        "documents",
        "RDFC canonicalization, template validation, Data Integrity proofs",
        "Every template's example document: RDFC-1.0 in safe mode against pyld's own normalize, validation "
        "against a bare jsonschema validator; proofs on activity-data against their two canonicalizations.",
        "tests.bench.foundation:documents",
    ),
    Benchmark(
        "handle_codec",
        "Handle JSON codec",
        "A signed record's Handle values encoded and decoded, against `json` on the same data.",
        "tests.bench.foundation:handle_codec",
    ),
    Benchmark(
        "storage",
        "SQLAlchemy async lookups on aiosqlite",
        "Record versions read by primary key through the node's store, against bare aiosqlite on the same file.",
        "tests.bench.storage:lookups",
    ),
    Benchmark(
        "node_publish",
        "Node publish throughput",
        "Validate, sign and store new records through the node's use-case on SQLite, and the cost of each phase.",
        "tests.bench.node_publish:publish",
    ),
    Benchmark(
        "resolver",
        "Resolver under wrk",
        "Cached resolutions of a local registry + node + resolver under wrk, against a bare aiohttp + uvloop "
        "handler with a body of the same size (alone and behind the services' middleware); cold resolutions.",
        "tests.bench.resolver_wrk:resolver",
    ),
    Benchmark(
        "carbon_efficiency",
        "Grading, evaluation, population benchmarks, QR codes",
        "numpy over a population of enterprises, one evaluation with its Monte Carlo, QR PNG and SVG, each "
        "against the bare numpy or library work underneath.",
        "tests.bench.carbon_efficiency:grading",
    ),
    Benchmark(
        "regional",
        "Regional index: build and regulator reports",
        "500,000 enterprises × 12 months (6,000,000 rows; 20,000 enterprises with --quick): build the "
        "in-memory regional index and answer regulator reports at every level, against one bare weighted "
        "bincount of all rows.",
        "tests.bench.regional:regional",
    ),
    Benchmark(
        "regional_postgres",
        "The regional reports as SQL on PostgreSQL",
        "The same rows and reports as four GROUP BY statements on PostgreSQL, against the same bare bincount; "
        "the in-memory index's time for the same regions in the note.",
        "tests.bench.regional_postgres:regional_postgres",
    ),
)


def _arguments(argv: Sequence[str] | None, benchmarks: Sequence[Benchmark]) -> argparse.Namespace:
    known = {benchmark.name for benchmark in benchmarks}

    def names(text: str) -> list[str]:
        chosen = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in known]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(
                f"unknown benchmark {', '.join(unknown) or '(none given)'}; known: {', '.join(sorted(known))}"
            )
        return chosen

    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, a few seconds each (not for comparing)"
    )
    parser.add_argument("--only", type=names, metavar="NAME[,NAME]", help="run only these benchmarks")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPOSITORY / "build" / "bench",
        help="report directory (default: build/bench)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser.parse_args(argv)


def run_benchmark(benchmark: Benchmark, quick: bool) -> Section:
    """Run one benchmark; a skip or a crash becomes the section's status, never an exception."""
    section = Section(benchmark.name, benchmark.title, benchmark.description)
    log(f"▶ {benchmark.name}")
    started = time.perf_counter()
    try:
        section.figures = benchmark.function()(quick)
    except Skipped as skipped:
        section.status, section.reason = "skipped", str(skipped)
    except Exception as error:  # recorded, and the next benchmark runs
        traceback.print_exc(file=sys.stderr)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        section.status, section.reason = "crashed", f"{type(error).__name__}: {first_line}"
    section.seconds = time.perf_counter() - started
    outcome = (
        f"{len(section.figures)} figures" if section.status == "ok" else f"{section.status}: {section.reason}"
    )
    log(f"  {benchmark.name}: {outcome} ({section.seconds:.1f} s)")
    return section


def main(argv: Sequence[str] | None = None, benchmarks: Sequence[Benchmark] = BENCHMARKS) -> int:
    """Run the chosen benchmarks, write the report, print it; 1 if a benchmark crashed."""
    arguments = _arguments(argv, benchmarks)
    if arguments.list:
        for benchmark in benchmarks:
            print(f"{benchmark.name:20} {benchmark.title}")
        return 0
    chosen = [b for b in benchmarks if arguments.only is None or b.name in arguments.only]
    facts = machine_facts()  # before running: the load average is the other processes', not ours
    started = time.perf_counter()
    sections = [run_benchmark(benchmark, arguments.quick) for benchmark in chosen]
    run = {
        "quick": arguments.quick,
        "only": [benchmark.name for benchmark in chosen],
        "seconds": round(time.perf_counter() - started, 1),
    }
    markdown = write_report(sections, facts, arguments.out, run=run)
    print(markdown, end="", flush=True)
    log(f"report: {arguments.out / 'bench-report.md'} and bench-report.json")
    return 1 if any(section.status == "crashed" for section in sections) else 0


if __name__ == "__main__":
    raise SystemExit(main())
