"""Carbon-efficiency throughput: grading a population from arrays, one Monte Carlo evaluation, benchmarks.

`grading()` measures, each as the median of a few runs after one warm-up:

- grading POPULATION enterprises (`grade_population`: L, K and grade, then the colour index) against a bare
  numpy pass over the same arrays (``e / v / b`` and one comparison), the floor any grading costs, and
  against the same bare pass keeping L and K as outputs: two fresh 8 MB arrays, and with glibc's default
  malloc fresh large arrays are new pages from the kernel, whose first touch costs about as much as the
  arithmetic;
- one `evaluate` of a realistic accounting (12 monthly electricity lines on one grid factor, 12 natural-gas
  invoices, diesel, purchased heat, two process lines, a gas, an offset: 30 lines) with 10⁴ draws, against
  its Monte Carlo alone, and the Monte Carlo against the least arithmetic it needs in bare numpy;
- `population_benchmarks` over POPULATION enterprises in the 2,847 county-level regions of GB/T 2260 and
  the 31 manufacturing divisions (codes as strings, as they come from documents), and `lookup_many` of
  every enterprise's benchmark, against a bare group-by on integer keys computed beforehand;
- QR PNG and SVG per second for new addresses, against the `qrcode` matrix alone, and for one address again.

Returns figures; asserts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_H

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
from tests.bench.report import Figure
from tests.bench.timing import median_ms
from tests.carbon_efficiency.emission_lines import accounting, grid_choice, line

POPULATION = 1_000_000
QUICK_POPULATION = 50_000
DRAWS = 10_000


def _population(rng: np.random.Generator, size: int) -> dict[str, np.ndarray[Any, Any]]:
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
    added = rng.lognormal(mean=np.log(5_000), sigma=1.2, size=size)
    added[rng.random(size) < 0.01] = 0.0  # some report no added value
    return {
        "regions": np.array(counties)[rng.integers(0, len(counties), size)],
        "industries": classes[rng.integers(0, classes.size, size)],
        "emissions": added * rng.lognormal(mean=0.0, sigma=0.8, size=size),
        "added_value": added,
        "benchmark": rng.lognormal(mean=0.0, sigma=0.3, size=size),
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


def _scale(quick: bool) -> tuple[int, int]:
    """Enterprises and QR codes of a full or a quick run."""
    return (QUICK_POPULATION, QUICK_QR_CODES) if quick else (POPULATION, QR_CODES)


def grading(quick: bool) -> list[Figure]:
    """Grading, one evaluation and its Monte Carlo, population benchmarks and their lookup, QR codes."""
    size, qr_codes = _scale(quick)
    rng = np.random.default_rng(2026)
    data = _population(rng, size)
    e, v, b = data["emissions"], data["added_value"], data["benchmark"]

    def bare() -> object:
        with np.errstate(divide="ignore", invalid="ignore"):
            return e / v / b > 0.6

    def bare_keeping_outputs() -> object:
        with np.errstate(divide="ignore", invalid="ignore"):
            intensity = e / v
            efficiency = intensity / b
        return intensity, efficiency, efficiency > 0.6

    grading_ms = median_ms(lambda: grade_population(e, v, b).colour_index, quick)
    name = f"grade {size:,} enterprises (L, K, grade, colour index)"
    figures = [
        Figure(name, grading_ms, "ms", "lower", "bare numpy e / v / b > 0.6", median_ms(bare, quick)),
        Figure(
            name,
            grading_ms,
            "ms",
            "lower",
            "bare numpy keeping L and K as outputs too",
            median_ms(bare_keeping_outputs, quick),
            "fresh 8 MB outputs are new pages: their first touch costs about as much as the arithmetic",
        ),
    ]

    lines = _thirty_lines()
    built = accounting(lines, added_value=48_000.0, neutrality_offsets=5_000.0)
    benchmark = Benchmark(intensity=30.5, level="city", region="330500", industry="C32", population=14)
    year = parse_period("2025")
    monte_carlo_ms = median_ms(
        lambda: monte_carlo(lines, added_value=48_000.0, benchmark_intensity=30.5, draws=DRAWS, seed=1), quick
    )
    figures.append(
        Figure(
            f"evaluate one accounting ({len(lines)} lines, {DRAWS:,} draws)",
            median_ms(lambda: evaluate(built, period=year, benchmark=benchmark, draws=DRAWS, seed=1), quick),
            "ms",
            "lower",
            "its Monte Carlo alone",
            monte_carlo_ms,
        )
    )
    figures.append(
        Figure(
            f"Monte Carlo, {len(lines)} lines × {DRAWS:,} draws",
            monte_carlo_ms,
            "ms",
            "lower",
            "bare numpy: one normal draw per line and draw, weighted sum, percentiles",
            median_ms(lambda: _bare_monte_carlo(len(lines), DRAWS), quick),
        )
    )
    figures += _benchmarks(data, quick)
    figures += _qr_codes(qr_codes, quick)
    return figures


def _bare_monte_carlo(lines: int, draws: int) -> object:
    """The least arithmetic a Monte Carlo over `lines` lines needs: one normal draw per line and draw,
    scaled, weighted, summed, and two percentiles."""
    generator = np.random.Generator(np.random.PCG64(1))
    drawn = generator.standard_normal((lines, draws))
    drawn *= 0.05
    drawn += 1.0
    drawn *= np.linspace(1.0, 2.0, lines)[:, np.newaxis]
    return np.percentile(drawn.sum(axis=0), (2.5, 97.5))


def _benchmarks(data: dict[str, np.ndarray[Any, Any]], quick: bool) -> list[Figure]:
    """`population_benchmarks` and `lookup_many`, against a bare group-by on integer keys made beforehand."""
    regions, industries = data["regions"], data["industries"]
    e, v = data["emissions"], data["added_value"]
    size = regions.size
    runs = 3 if quick else 5
    benchmarks_ms = median_ms(lambda: population_benchmarks(regions, industries, e, v), quick, runs)
    table = population_benchmarks(regions, industries, e, v)
    division = np.array([int(code[1:3]) for code in industries.tolist()], dtype=np.int64)
    pairs = division * 1_000_000 + regions.astype(np.int64)

    def bare_group_by() -> object:
        groups, inverse = np.unique(pairs, return_inverse=True)
        return np.bincount(inverse, weights=e, minlength=groups.size), np.bincount(inverse, weights=v)

    intensities = np.ones(np.unique(pairs).size)

    def bare_lookup() -> object:
        _, inverse = np.unique(pairs, return_inverse=True)
        return intensities[inverse]

    return [
        Figure(
            f"population_benchmarks, {size:,} enterprises (str codes)",
            benchmarks_ms,
            "ms",
            "lower",
            "bare np.unique + 2 bincounts on integer (division, county) keys",
            median_ms(bare_group_by, quick, runs),
            f"{table.groups[0].keys.size:,} county groups; four levels; codes parsed from strings",
        ),
        Figure(
            f"lookup_many for all {size:,}",
            median_ms(lambda: table.lookup_many(regions, industries), quick, runs),
            "ms",
            "lower",
            "bare np.unique of integer keys + one gather",
            median_ms(bare_lookup, quick, runs),
        ),
    ]


QR_CODES: Final = 200
QUICK_QR_CODES: Final = 20


def _bare_matrix(url: str) -> object:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


def _per_second(operation: Callable[[int], object], count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        operation(n)
    return count / (time.perf_counter() - started)


def _render_new(render: Callable[..., object], urls: list[str], label: str, n: int) -> object:
    return render(urls[n], n % 5 + 1, label=label)


def _qr_codes(count: int, quick: bool) -> list[Figure]:
    """QR PNG and SVG per second, for new addresses (each a fresh matrix) and for one address again."""
    label = "长兴示范铝业有限公司 · 2025"
    urls = [f"https://resolver.example/c/88.100.9/CERT.88.{n}.1.2025" for n in range(count)]
    bare = _per_second(lambda n: _bare_matrix(f"{urls[n]}.bare"), count)
    figures = []
    for name, render in (("png", certificate_qr_png), ("svg", certificate_qr_svg)):
        fresh = _per_second(partial(_render_new, render, [f"{url}.{name}" for url in urls], label), count)
        again = _per_second(partial(_render_new, render, [urls[0]] * count, label), count)
        figures.append(
            Figure(
                f"QR {name.upper()} (level H, grade panel), new address",
                fresh,
                "/s",
                "higher",
                "qrcode matrix alone (level H, fit), new address",
                bare,
            )
        )
        figures.append(
            Figure(
                f"QR {name.upper()} (level H, grade panel), same address again",
                again,
                "/s",
                "higher",
                note="the matrix comes from the cache: drawing and encoding only",
            )
        )
    return figures


if __name__ == "__main__":
    for figure in grading(quick=False):
        print(figure)
