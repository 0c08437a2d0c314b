"""`carbonid demo`: the local demonstration.

The registry and node services exist (`carbonid registry serve`, `carbonid node serve`); the resolver
and the one-command federation that starts them all arrive with the next issue. Until then the demo
runs the foundation they stand on, for real, on this machine: an enterprise's keys and DID document, the federation CA
and a mutual-TLS handshake on loopback that identifies the peer by its prefix, every metadata template
validated, signed with Ed25519 and SM2 and verified, and each record written as Handle REST JSON.
Re-running on the same data directory reuses its keys and CA.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from certs.data_integrity import add_proof, verify_proofs
from certs.did import DidDocument
from certs.keys import SigningKey, generate_signing_key, load_signing_key, save_key_pair
from certs.tls import client_ssl_context, server_ssl_context
from certs.x509 import (
    CertificateAuthority,
    create_ca,
    issue_client_certificate,
    issue_server_certificate,
    prefix_from_certificate,
)
from handle_registry.codec import dumps, encode_resolution
from handle_registry.records import handle_values_for_record
from metadata_templates import default_catalog, validate
from metadata_templates.handle_mapping import document_to_values

PREFIX = "88.186.1"
DID = "did:web:localhost%3A18443"

Echo = Callable[[str], None]


def run_foundation_demo(data_dir: Path, *, echo: Echo = print) -> None:
    """Run the foundation walk-through in `data_dir` and print what it did."""
    data_dir.mkdir(parents=True, exist_ok=True)
    echo(f"carbonid demo — foundation walk-through in {data_dir.resolve()}")
    echo("(the registry and node services run with `carbonid registry serve` / `carbonid node serve`; the")
    echo(" one-command federation with the resolver comes next; this runs the trust layer they stand on)\n")

    keys = [_key(data_dir / "keys", algorithm) for algorithm in ("ed25519", "sm2")]
    did = DidDocument.create(DID, [k.public_key for k in keys])
    (data_dir / "keys" / "did.json").write_text(json.dumps(did.to_json(), indent=2) + "\n", "utf-8")
    for key in keys:
        echo(f"key      {key.algorithm.value:8} {did.key_id(key.public_key)}")

    peer = asyncio.run(_mutual_tls_handshake(data_dir / "pki"))
    echo(
        f"TLS      federation CA issued node and client certificates; mutual TLS on loopback identified peer {peer}\n"
    )

    catalog = default_catalog()
    records = data_dir / "records"
    records.mkdir(exist_ok=True)
    echo(f"{'template':34} {'handle':28} {'values':>6} {'proofs':>6} {'sign ms':>8} {'verify ms':>9}")
    for template in catalog.list():
        document = template.example_document()
        validate(template, document)
        started = time.perf_counter()
        for key in keys:
            document = add_proof(
                document, key, verification_method=did.key_id(key.public_key), loader=catalog.loader
            )
        signed_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        proofs = verify_proofs(document, did, loader=catalog.loader)
        verify_ms = (time.perf_counter() - started) * 1000
        handle = str(document.get("handle", f"{PREFIX}/{template.id}"))
        values = handle_values_for_record(document_to_values(template, document), timestamp=datetime.now(UTC))
        name = handle.replace("/", "_")
        (records / f"{name}.json").write_text(
            json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8"
        )
        (records / f"{name}.handle.json").write_text(
            dumps(encode_resolution(handle, values), pretty=True), "utf-8"
        )
        echo(
            f"{template.ref:34} {handle:28} {len(values):>6} {len(proofs):>6} {signed_ms:>8.1f} {verify_ms:>9.1f}"
        )

    echo(f"\nSigned documents and their Handle JSON are in {records}.")
    profile = records / f"{PREFIX}_PROFILE.json"
    echo(f"Check one yourself:  carbonid verify {profile} --did-document {data_dir / 'keys' / 'did.json'}")


def _key(directory: Path, algorithm: str) -> SigningKey:
    path = directory / f"{algorithm}.key"
    if path.exists():
        return load_signing_key(path.read_bytes())
    key = generate_signing_key(algorithm)
    save_key_pair(key, directory, algorithm)
    return key


async def _mutual_tls_handshake(pki: Path) -> str:
    """Serve on loopback with a CA-issued certificate and identify a client by its prefix certificate."""
    if (pki / "ca.pem").exists():
        ca = CertificateAuthority.load(pki)
    else:
        ca = create_ca("carbonid demo federation CA")
        ca.save(pki)
    server_cert, server_key = issue_server_certificate(ca, ["localhost", "127.0.0.1"]).save(pki, "node")
    client_cert, client_key = issue_client_certificate(ca, PREFIX).save(pki, "peer")
    ca_file = pki / "ca.pem"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(prefix_from_certificate(writer.get_extra_info("peercert")).encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(
        answer, "127.0.0.1", 0, ssl=server_ssl_context(server_cert, server_key, ca_file)
    )
    port = server.sockets[0].getsockname()[1]
    try:
        context = client_ssl_context(ca_file, cert_file=client_cert, key_file=client_key)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
        peer = (await reader.read()).decode()
        writer.close()
        return peer
    finally:
        server.close()
        await server.wait_closed()
