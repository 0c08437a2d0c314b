"""Carbon-efficiency throughput: grading a population from arrays, one Monte Carlo evaluation, benchmarks.

`run()` measures, each as the median of RUNS runs after one warm-up:

- grading POPULATION enterprises (`grade_population`: L, K and grade, then the colour index) against a bare
  numpy pass over the same arrays (``e / v / b`` and one comparison), the floor any grading costs, and
  against the same bare pass keeping L and K as outputs: two fresh 8 MB arrays, and with glibc's default
  malloc fresh large arrays are new pages from the kernel, whose first touch costs about as much as the
  arithmetic;
- one `evaluate` of a realistic accounting (12 monthly electricity lines on one grid factor, 12 natural-gas
  invoices, diesel, purchased heat, two process lines, a gas, an offset: 30 lines) with 10⁴ draws, and its
  Monte Carlo alone;
- `population_benchmarks` over POPULATION enterprises in the 2,847 county-level regions of GB/T 2260 and
  the 31 manufacturing divisions (codes as strings, as they come from documents), and `lookup_many` of
  every enterprise's benchmark.

Prints figures and returns them; asserts nothing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from carbon_efficiency.benchmark import Benchmark, population_benchmarks
from carbon_efficiency.evaluation import evaluate
from carbon_efficiency.grading import grade_population
from carbon_efficiency.model import (
    COMBUSTION,
    OTHER_GASES,
    PROCESS,
    PURCHASED_ELECTRICITY,
    PURCHASED_HEAT,
    ZERO_CARBON_DEDUCTIONS,
    EmissionLine,
)
from carbon_efficiency.periods import parse_period
from carbon_efficiency.qr import certificate_qr_png, certificate_qr_svg
from carbon_efficiency.uncertainty import monte_carlo
from metadata_templates.codes import RegionLevel, children, provinces
from tests.carbon_efficiency.emission_lines import accounting, grid_choice, line

POPULATION = 1_000_000
RUNS = 7
DRAWS = 10_000


def _median_ms(operation: Callable[[], object], runs: int = RUNS) -> float:
    operation()  # warm-up: imports, cached tables, page faults of first allocations
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        operation()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000


def _print(name: str, ms: float, note: str = "") -> None:
    print(f"{name:58} {'':15} {ms:10.3f} ms {note}", flush=True)


def _population(rng: np.random.Generator) -> dict[str, np.ndarray[Any, Any]]:
    counties = [
        county.code
        for province in provinces()
        for city in children(province.code)
        for county in (children(city.code) if city.level is RegionLevel.CITY else (city,))
        if county.level is RegionLevel.COUNTY
    ]
    classes = np.array(
        [f"C{division}{group:02d}" for division in range(13, 44) for group in (11, 19, 21, 90)]
    )
    added = rng.lognormal(mean=np.log(5_000), sigma=1.2, size=POPULATION)
    added[rng.random(POPULATION) < 0.01] = 0.0  # some report no added value
    return {
        "regions": np.array(counties)[rng.integers(0, len(counties), POPULATION)],
        "industries": classes[rng.integers(0, classes.size, POPULATION)],
        "emissions": added * rng.lognormal(mean=0.0, sigma=0.8, size=POPULATION),
        "added_value": added,
        "benchmark": rng.lognormal(mean=0.0, sigma=0.3, size=POPULATION),
    }


def _thirty_lines() -> list[EmissionLine]:
    grid = grid_choice()
    lines = [
        line(
            f"2025-{m:02d}/electricity/0",
            PURCHASED_ELECTRICITY,
            68_000.0 + 900 * m,
            factor_kind="electricity-grid",
            factor=0.55,
            choice=grid,
        )
        for m in range(1, 13)
    ]
    lines += [
        line(
            f"2025-{m:02d}/fuels/0",
            COMBUSTION,
            2_300.0 + 40 * m,
            data_source="invoice",
            factor_kind="fuel-default",
            factor=21.62,
        )
        for m in range(1, 13)
    ]
    lines += [
        line("2025/fuels/1", COMBUSTION, 264.0, data_source="estimate", factor_kind="fuel-default", factor=3.1),
        line("2025/heat/0", PURCHASED_HEAT, 3_560.0, factor_kind="heat-default", factor=0.11),
        line("2025/processInputs/0", PROCESS, 181_000.0, data_source="production-statistics", factor_kind="enterprise-factor", factor=1.62),
        line("2025/processInputs/1", PROCESS, 125.0, data_source="purchase-record", factor_kind="carbonate", factor=0.44),
        line("2025/ghgEmissions/0", OTHER_GASES, 70_848.0, data_source="engineering-calculation", factor_kind="gwp", factor=7380.0),
        line("2025/offsets/0", ZERO_CARBON_DEDUCTIONS, -5_000.0, data_source="evidence", factor_kind="stated"),
    ]  # fmt: skip
    return lines


def run() -> dict[str, float]:
    """Measure and print the carbon-efficiency figures; return them by name (milliseconds, ratios)."""
    rng = np.random.default_rng(2026)
    data = _population(rng)
    e, v, b = data["emissions"], data["added_value"], data["benchmark"]
    figures: dict[str, float] = {}

    def bare() -> object:
        with np.errstate(divide="ignore", invalid="ignore"):
            return e / v / b > 0.6

    def bare_keeping_outputs() -> object:
        with np.errstate(divide="ignore", invalid="ignore"):
            intensity = e / v
            efficiency = intensity / b
        return intensity, efficiency, efficiency > 0.6

    figures["grading_ms"] = _median_ms(lambda: grade_population(e, v, b).colour_index)
    figures["bare_numpy_ms"] = _median_ms(bare)
    figures["bare_numpy_outputs_ms"] = _median_ms(bare_keeping_outputs)
    figures["grading_ratio"] = figures["grading_ms"] / figures["bare_numpy_ms"]
    figures["grading_ratio_outputs"] = figures["grading_ms"] / figures["bare_numpy_outputs_ms"]
    _print(f"grade {POPULATION:,} enterprises (L, K, grade, colour index)", figures["grading_ms"])
    _print(
        "  bare numpy e / v / b > 0.6 on the same arrays",
        figures["bare_numpy_ms"],
        f"(grading ×{figures['grading_ratio']:.1f})",
    )
    _print(
        "  bare numpy keeping L and K as outputs too",
        figures["bare_numpy_outputs_ms"],
        f"(grading ×{figures['grading_ratio_outputs']:.1f})",
    )

    lines = _thirty_lines()
    built = accounting(lines, added_value=48_000.0, neutrality_offsets=5_000.0)
    benchmark = Benchmark(intensity=30.5, level="city", region="330500", industry="C32", population=14)
    year = parse_period("2025")
    figures["evaluate_ms"] = _median_ms(
        lambda: evaluate(built, period=year, benchmark=benchmark, draws=DRAWS, seed=1)
    )
    figures["monte_carlo_ms"] = _median_ms(
        lambda: monte_carlo(lines, added_value=48_000.0, benchmark_intensity=30.5, draws=DRAWS, seed=1)
    )
    _print(f"evaluate one accounting ({len(lines)} lines, {DRAWS:,} draws)", figures["evaluate_ms"])
    _print("  of which the Monte Carlo", figures["monte_carlo_ms"])

    regions, industries = data["regions"], data["industries"]
    figures["benchmarks_ms"] = _median_ms(lambda: population_benchmarks(regions, industries, e, v), runs=5)
    table = population_benchmarks(regions, industries, e, v)
    figures["benchmark_groups_county"] = float(table.groups[0].keys.size)
    figures["lookup_many_ms"] = _median_ms(lambda: table.lookup_many(regions, industries), runs=5)
    _print(
        f"population_benchmarks, {POPULATION:,} enterprises (str codes)",
        figures["benchmarks_ms"],
        f"({table.groups[0].keys.size:,} county groups)",
    )
    _print(f"  lookup_many for all {POPULATION:,}", figures["lookup_many_ms"])
    _qr_codes(figures)
    return figures


QR_CODES: Final = 200


def _qr_codes(figures: dict[str, float]) -> None:
    """QR PNG and SVG per second, for new addresses (each a fresh matrix) and for one address again."""
    label = "长兴示范铝业有限公司 · 2025"
    urls = [f"https://resolver.example/c/88.100.9/CERT.88.{n}.1.2025" for n in range(QR_CODES)]
    for name, render in (("png", certificate_qr_png), ("svg", certificate_qr_svg)):
        started = time.perf_counter()
        for n, url in enumerate(urls):
            render(f"{url}.{name}", n % 5 + 1, label=label)
        fresh = QR_CODES / (time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(QR_CODES):
            render(urls[0], n % 5 + 1, label=label)
        again = QR_CODES / (time.perf_counter() - started)
        figures[f"qr_{name}_per_second"] = fresh
        figures[f"qr_{name}_same_url_per_second"] = again
        print(
            f"{'QR ' + name.upper() + ' (level H, grade panel), new / same address':58} {fresh:9.0f} /s {again:9.0f} /s"
        )


if __name__ == "__main__":
    run()
