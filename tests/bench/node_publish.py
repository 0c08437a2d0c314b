"""Node publish throughput: validate + sign + store through the real use-case, on SQLite in a temporary directory.

`run()` publishes RECORDS activity-data documents with `node.records.publish_record` (each a new record: one
version and one log entry in one transaction) and prints records per second, then the cost per record of
validation, canonicalization (RDFC of the document and of the proof options, measured on its own), signing
(the rest of making the proof) and storage.
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

RECORDS = 300
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


async def _measure(records: int) -> None:
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
    print(
        f"{'node publish ' + TEMPLATE + f' (SQLite, {records} records)':58} {records / elapsed:12,.0f} /s "
        f"{elapsed * 1000 / records:10.3f} ms",
        flush=True,
    )
    for name, ms in (
        ("  validation (template + prefix)", per_record["validation"]),
        ("  canonicalization (RDFC: document + proof options)", canonical_ms),
        ("  signing (hashing, Ed25519, proof assembly)", signing_ms),
        ("  storage (lookup, then version + log in one transaction)", per_record["storage"]),
    ):
        print(f"{name:58} {'':15} {ms:10.3f} ms", flush=True)


def run(records: int = RECORDS) -> None:
    """Measure and print the node's publish throughput and its cost split."""
    asyncio.run(_measure(records))


if __name__ == "__main__":
    run()
