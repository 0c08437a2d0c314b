"""`make bench`: carbonid's benchmarks. Prints figures; asserts nothing (tests assert behaviour).

Each figure is the median of five batches, each batch running for about 0.2 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from certs.canonical import canonicalize
from certs.data_integrity import add_proof, verify_proofs
from certs.did import DidDocument
from certs.keys import generate_signing_key
from handle_registry.codec import decode_resolution, dumps, encode_resolution, parse_json
from handle_registry.records import handle_values_for_record
from metadata_templates import default_catalog, validate
from metadata_templates.handle_mapping import document_to_values

BATCHES = 5
BATCH_SECONDS = 0.2


def rate(operation: Callable[[], object]) -> tuple[float, float]:
    """Median operations per second and median milliseconds per operation."""
    operation()  # warm caches (resolved contexts, imports)
    per_second = []
    for _ in range(BATCHES):
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < BATCH_SECONDS:
            operation()
            count += 1
        per_second.append(count / elapsed)
    median = statistics.median(per_second)
    return median, 1000 / median


def row(name: str, operation: Callable[[], object]) -> None:
    """Measure and print one line."""
    ops, ms = rate(operation)
    print(f"{name:58} {ops:12,.0f} /s {ms:10.3f} ms", flush=True)


def main() -> int:
    """Run the foundation benchmarks."""
    catalog = default_catalog()
    print(f"carbonid benchmarks — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}\n")
    print(f"{'operation':58} {'rate':>15} {'per op':>13}")

    message = b"x" * 64
    for algorithm in ("ed25519", "sm2"):
        key = generate_signing_key(algorithm)
        signature = key.sign(message)
        row(f"{algorithm} sign 64 bytes", lambda key=key: key.sign(message))
        row(
            f"{algorithm} verify 64 bytes",
            lambda key=key, signature=signature: key.public_key.verify(signature, message),
        )

    for template in catalog.list():
        document = template.example_document()
        size = len(dumps(document))
        row(
            f"RDFC canonicalize {template.ref} ({size:,} B)",
            lambda d=document: canonicalize(d, catalog.loader),
        )
        row(f"validate {template.ref}", lambda t=template, d=document: validate(t, d))

    template = catalog.get("activity-data")
    document = template.example_document()
    keys = {a: generate_signing_key(a) for a in ("ed25519", "sm2")}
    did = DidDocument.create("did:web:bench.example", [k.public_key for k in keys.values()])
    for key in keys.values():
        method = did.key_id(key.public_key)
        signed = add_proof(document, key, verification_method=method, loader=catalog.loader)
        suite = signed["proof"]["cryptosuite"]
        row(
            f"{suite} add proof to activity-data",
            lambda k=key, m=method: add_proof(document, k, verification_method=m, loader=catalog.loader),
        )
        row(f"{suite} verify activity-data", lambda s=signed: verify_proofs(s, did, loader=catalog.loader))

    values = handle_values_for_record(document_to_values(template, signed), timestamp=datetime.now(UTC))
    wire = dumps(encode_resolution("88.186.1/ACT.2025", values))
    row(
        f"Handle JSON encode record ({len(values)} values, {len(wire):,} B)",
        lambda: dumps(encode_resolution("88.186.1/ACT.2025", values)),
    )
    row("Handle JSON decode record", lambda: decode_resolution(parse_json(wire)))

    print()
    from tests.bench import node_publish

    node_publish.run()

    print()
    from tests.bench import resolver_wrk

    resolver_wrk.run()
    print()
    from tests.bench import carbon_efficiency

    carbon_efficiency.run()
    print()
    from tests.bench import regional

    regional.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
