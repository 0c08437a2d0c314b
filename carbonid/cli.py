"""The `carbonid` command line.

Exit codes: 0 success; 1 the input was read but is not valid (a document failing its template, a
signature that does not verify); 2 the command could not run (unreadable file, bad JSON, bad option).
Errors are one line on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from carbonid.backup_cli import backup_command, restore_command
from carbonid.cli_support import EXIT_INVALID, fail, read_json, write_json
from carbonid.evaluate_cli import evaluate_command
from carbonid.node_cli import node
from carbonid.registry_cli import registry
from carbonid.resolver_cli import resolve_command, resolver
from certs.data_integrity import add_proof, verify_proofs
from certs.did import DidDocument
from certs.errors import CertsError, KeyFormatError, UnsafeDocumentError, VerificationError
from certs.keys import KeyAlgorithm, load_signing_key, save_key_pair
from certs.keys import generate_signing_key as new_key
from metadata_templates import TemplateNotFoundError, TemplateValidationError, default_catalog, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="carbonid")
def main() -> None:
    """carbonid: federated identifier resolution for industrial carbon data."""


# --- keys ------------------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Signing keys and DID documents."""


@keys.command("generate")
@click.option(
    "--alg",
    "algorithm",
    type=click.Choice([a.value for a in KeyAlgorithm]),
    default="ed25519",
    show_default=True,
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the key files.",
)
@click.option("--name", default=None, help="File stem of the key files (default: the algorithm).")
@click.option(
    "--did", default="did:web:localhost", show_default=True, help="The DID whose document lists the key."
)
def keys_generate(algorithm: str, out_dir: Path, name: str | None, did: str) -> None:
    """Generate a key: NAME.key (PKCS#8, 0600), NAME.pub.pem, NAME.jwk.json, and add it to did.json."""
    stem = name or algorithm
    if (out_dir / f"{stem}.key").exists():
        fail(f"{out_dir / (stem + '.key')} exists; refusing to overwrite a key")
    key = new_key(algorithm)
    private_path, public_path = save_key_pair(key, out_dir, stem)
    (out_dir / f"{stem}.jwk.json").write_text(json.dumps(key.public_key.jwk(), indent=2) + "\n", "utf-8")
    did_path = out_dir / "did.json"
    document = DidDocument.from_json(read_json(did_path)) if did_path.exists() else DidDocument.create(did)
    if document.id != did and did_path.exists() and did != "did:web:localhost":
        fail(f"{did_path} belongs to {document.id}, not {did}")
    document = document.add_key(key.public_key)
    write_json(document.to_json(), did_path)
    click.echo(f"private key         {private_path}")
    click.echo(f"public key          {public_path}")
    click.echo(f"publicKeyMultibase  {key.public_key.multibase}")
    click.echo(f"verificationMethod  {document.key_id(key.public_key)}")
    click.echo(f"DID document        {did_path}")


# --- templates -------------------------------------------------------------------------------------


@main.group()
def templates() -> None:
    """The metadata templates bundled with carbonid."""


@templates.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def templates_list(as_json: bool) -> None:
    """List every template version."""
    catalog = default_catalog()
    if as_json:
        write_json([{k: v for k, v in t.describe().items() if k != "schema"} for t in catalog.list()], None)
        return
    for t in catalog.list():
        click.echo(f"{t.ref:34} {len(t.items):3} items  {t.labels.zh} / {t.labels.en}")


@templates.command("show")
@click.argument("template_ref")
@click.option("--json", "as_json", is_flag=True, help="Print the full description, schema included, as JSON.")
@click.option("--example", is_flag=True, help="Print the template's example document.")
def templates_show(template_ref: str, as_json: bool, example: bool) -> None:
    """Show a template (ID or ID/VERSION): its items, labels and context."""
    try:
        template = default_catalog().resolve(template_ref)
    except TemplateNotFoundError as exc:
        fail(str(exc))
    if example:
        write_json(template.example_document(), None)
        return
    if as_json:
        write_json(template.describe(), None)
        return
    click.echo(f"{template.ref}  {template.labels.zh} / {template.labels.en}")
    click.echo(f"JSON-LD type {template.jsonld_type}, context {template.context_url}")
    click.echo(f"{template.description.zh}\n{template.description.en}\n")
    click.echo(f"{'index':>5}  {'name':28} {'type':18} {'required':8}  label")
    for item in template.items:
        required = "yes" if item.required else ""
        click.echo(
            f"{item.id_index:>5}  {item.name:28} {item.id_type:18} {required:8}  {item.labels.zh} / {item.labels.en}"
        )


# --- documents -------------------------------------------------------------------------------------


@main.command("validate")
@click.argument("template_ref")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate_command(template_ref: str, file: Path) -> None:
    """Validate FILE against TEMPLATE (ID or ID/VERSION); exit 1 with pointer and message when invalid."""
    try:
        template = default_catalog().resolve(template_ref)
    except TemplateNotFoundError as exc:
        fail(str(exc))
    document = read_json(file)
    try:
        validate(template, document)
    except TemplateValidationError as exc:
        for issue in exc.issues:
            click.echo(f"{file}: {issue}", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(f"{file}: valid {template.ref}")


@main.command("sign")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Private key (PEM).",
)
@click.option(
    "--did-document",
    type=click.Path(dir_okay=False, path_type=Path),
    help="DID document listing the key (default: did.json beside the key).",
)
@click.option(
    "--verification-method", help="Verification method id, instead of looking the key up in a DID document."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
def sign_command(
    file: Path, key_file: Path, did_document: Path | None, verification_method: str | None, out: Path | None
) -> None:
    """Add a Data Integrity proof to FILE (eddsa-rdfc-2022 or sm2-rdfc-2024, after the key).

    A document of a carbonid template is validated first. Signing an already signed document adds a
    proof (a proof set).
    """
    document = read_json(file)
    if not isinstance(document, dict):
        fail(f"{file} does not hold a JSON object")
    try:
        key = load_signing_key(key_file.read_bytes())
    except OSError as exc:
        fail(f"cannot read {key_file}: {exc.strerror}")
    except KeyFormatError as exc:
        fail(f"{key_file}: {exc}")
    if verification_method is None:
        did_path = did_document or key_file.parent / "did.json"
        if not did_path.exists():
            fail(f"no DID document at {did_path}; pass --did-document or --verification-method")
        verification_method = _method_for(DidDocument.from_json(read_json(did_path)), key, did_path)
    catalog = default_catalog()
    try:
        template = catalog.for_document(document)
    except TemplateNotFoundError:
        template = None
    if template is not None:
        try:
            validate(template, {k: v for k, v in document.items() if k != "proof"})
        except TemplateValidationError as exc:
            for issue in exc.issues:
                click.echo(f"{file}: {issue}", err=True)
            sys.exit(EXIT_INVALID)
    try:
        signed = add_proof(document, key, verification_method=verification_method, loader=catalog.loader)
    except UnsafeDocumentError as exc:
        fail(f"{file}: {exc}", EXIT_INVALID)
    except CertsError as exc:
        fail(f"{file}: {exc}", EXIT_INVALID)
    write_json(signed, out)


def _method_for(document: DidDocument, key: Any, did_path: Path) -> str:
    method_id = document.key_id(key.public_key)
    if not any(m.id == method_id for m in document.active_methods()):
        fail(f"{did_path} does not list this key as an active assertion method")
    return method_id


@main.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--did-document",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The signer's DID document.",
)
def verify_command(file: Path, did_document: Path) -> None:
    """Verify every proof of FILE against DID.json; exit 1 and say why when one fails."""
    document = read_json(file)
    if not isinstance(document, dict):
        fail(f"{file} does not hold a JSON object")
    try:
        did = DidDocument.from_json(read_json(did_document))
    except KeyFormatError as exc:
        fail(f"{did_document}: {exc}")
    try:
        results = verify_proofs(document, did, loader=default_catalog().loader)
    except VerificationError as exc:
        fail(f"{file}: not verified: {exc}", EXIT_INVALID)
    for result in results:
        created = result.created.isoformat() if result.created else "-"
        click.echo(f"verified  {result.cryptosuite:16} {created}  {result.verification_method}")


# --- demo ------------------------------------------------------------------------------------------


@main.command("demo")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".carbonid-demo"),
    show_default=True,
    help="Where the federation's databases, keys, CA and federation.json live.",
)
@click.option(
    "--base-port",
    type=click.IntRange(1024, 65535),
    default=None,
    help=(
        "First port of the layout: resolver P, registries P+100 and P+101, nodes P+443 and up "
        "[default: 18000, or the port the data directory was made with]."
    ),
)
@click.option(
    "--once", is_flag=True, help="Exit after making and checking the federation instead of serving."
)
def demo_command(data_dir: Path, base_port: int | None, once: bool) -> None:
    """Run the whole federation locally: registries, four enterprise nodes and the resolver.

    Makes what is missing (administrators, delegation, prefixes, profiles and twelve months of activity
    data), resolves every node through the resolver, prints what it did and writes DATA_DIR/federation.json.
    Serves until Ctrl-C unless --once. Exit 2 when a port is in use; 1 when a step is refused or, with
    --once, when a resolution does not verify.
    """
    from carbonid.demo import run_demo_command
    from carbonid.demo_layout import DemoError, UsageError

    try:
        verified = run_demo_command(data_dir, base_port, once=once, echo=click.echo)
    except UsageError as exc:
        fail(str(exc))
    except DemoError as exc:
        fail(str(exc), EXIT_INVALID)
    if once and not verified:
        sys.exit(EXIT_INVALID)


main.add_command(registry)
main.add_command(node)
main.add_command(resolver)
main.add_command(resolve_command, name="resolve")
main.add_command(evaluate_command, name="evaluate")
main.add_command(backup_command, name="backup")
main.add_command(restore_command, name="restore")


if __name__ == "__main__":
    main()
