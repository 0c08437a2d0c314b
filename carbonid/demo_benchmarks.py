"""The benchmark table the demo's resolver grades against (written to `resolver/benchmarks.json`).

Four demo enterprises in four industries are no population to benchmark against, so the demo configures
a published table, as a Zhejiang resolver would configure the province's published benchmarks. The
figures below are ILLUSTRATIVE: chosen in the range of each industry division's intensity, they are not an
official publication, and every row says so.
"""

from __future__ import annotations

from typing import Any, Final

SOURCE: Final = "carbonid demo: illustrative benchmark, not an official publication"

DEMO_BENCHMARKS: Final[dict[str, Any]] = {
    "rows": [
        {"industry": "C31", "region": "000000", "period": "2025", "intensity": 5.0, "source": SOURCE},
        {"industry": "C32", "region": "000000", "period": "2025", "intensity": 20.0, "source": SOURCE},
        {"industry": "C36", "region": "000000", "period": "2025", "intensity": 0.5, "source": SOURCE},
        {"industry": "all", "region": "000000", "period": "2025", "intensity": 1.2, "source": SOURCE},
    ]
}
