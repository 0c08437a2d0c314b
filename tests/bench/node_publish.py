"""Node publish throughput: validate + sign + store through the real use-case, on SQLite in a temporary directory.

`publish()` publishes RECORDS activity-data documents with `node.records.publish_record` (each a new record:
one version and one log entry in one transaction) and returns records per second, then the cost per record of
validation, canonicalization (RDFC of the document and of the proof options, measured on its own), signing
(the rest of making the proof) and storage. The ceiling of the rate is the canonicalization alone, which
every publication pays.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from certs.canonical import canonicalize
from node.records import Publication, publish_record
from node.runtime import open_node
from node.settings import NodeSettings
from tests.bench.report import Figure

RECORDS = 300
QUICK_RECORDS = 30
TEMPLATE = "activity-data/1"


def _canonicalization_ms(signed: dict[str, Any], loader: Any, samples: int = 50) -> float:
    """Median milliseconds to canonicalize what one Ed25519 proof covers: the document and the proof options."""
    document = {k: v for k, v in signed.items() if k != "proof"}
    proof = signed["proof"] if isinstance(signed["proof"], dict) else signed["proof"][0]
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = document["@context"]
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        canonicalize(document, loader)
        canonicalize(options, loader)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000


async def _measure(records: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="carbonid-bench-") as directory:
        settings = NodeSettings(prefix="88.186.1", data_dir=Path(directory), log_json=False)
        async with open_node(settings) as ctx:
            document = ctx.catalog.resolve(TEMPLATE).example_document()
            document.pop("handle", None)
            actor = settings.admin_user
            # Warm the caches (resolved contexts, prepared statements) before measuring.
            await publish_record(ctx, Publication(TEMPLATE, document, suffix="ACT.WARM"), actor=actor)
            timings: dict[str, float] = {}
            started = time.perf_counter()
            for number in range(records):
                publication = Publication(TEMPLATE, document, suffix=f"ACT.BENCH.{number}")
                await publish_record(ctx, publication, actor=actor, timings=timings)
            elapsed = time.perf_counter() - started
            async with ctx.store.unit() as db:
                view = await db.get_version(ctx.prefix.handle("ACT.WARM").key, 1)
            if view is None:
                raise RuntimeError("the warm-up record was not stored")
            canonical_ms = _canonicalization_ms(json.loads(view.document), ctx.catalog.loader)

    per_record = {phase: seconds * 1000 / records for phase, seconds in timings.items()}
    signing_ms = max(per_record["signing"] - canonical_ms, 0.0)
    figures = [
        Figure(
            f"publish {TEMPLATE} (SQLite, {records} records)",
            records / elapsed,
            "/s",
            "higher",
            "RDFC of the document + the proof options alone",
            1000 / canonical_ms,
            "validate, sign, store: a record cannot be faster than its canonicalization",
        )
    ]
    for name, ms in (
        ("  validation (template + prefix)", per_record["validation"]),
        ("  canonicalization (RDFC: document + proof options)", canonical_ms),
        ("  signing (hashing, Ed25519, proof assembly)", signing_ms),
        ("  storage (lookup, then version + log in one transaction)", per_record["storage"]),
    ):
        figures.append(Figure(name.strip(), ms, "ms/record", "lower", note="share of one publication"))
    return figures


def publish(quick: bool) -> list[Figure]:
    """The node's publish throughput, and its cost split by phase."""
    return asyncio.run(_measure(QUICK_RECORDS if quick else RECORDS))
