"""Making the demo federation, over the services' own HTTP(S) APIs, as operators and enterprises would.

Every step looks first at what exists and does only what is missing, so running it again on the same data
directory changes nothing: registry administrators (their secrets kept 0600 in the registry's directory),
the root's delegation of `88.186` to the industry registry, each node's signed prefix application and its
approval, each enterprise's profile, twelve monthly activity records and its product carbon forms
(`carbonid.demo_products`; published again only when the
document differs), and the grants of private records.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import aiohttp

from carbonid.demo_data import ACTIVITY_TEMPLATE, activity_documents, activity_suffix
from carbonid.demo_enterprises import PROFILE_SUFFIX, PROFILE_TEMPLATE, profile_document
from carbonid.demo_layout import DemoError
from carbonid.demo_products import TEMPLATE as PRODUCT_TEMPLATE
from carbonid.demo_products import forms_of
from certs.canonical import DATA_INTEGRITY_V2
from certs.files import write_private_file
from handle_registry.prefix_records import PrefixRecord
from handle_registry.service.administration import authenticate_admin, create_admin
from handle_registry.service.errors import AdminAuthenticationRequired, AdminExists
from handle_registry.service.keys import REGISTRY_KEY
from metadata_templates import default_catalog
from node.keys import NODE_KEY
from node.registry_client import (
    ApplicationRefused,
    RegistryUnreachable,
    build_application,
    sign_application,
    submit_application,
)

if TYPE_CHECKING:
    from carbonid.federation import Federation, NodeService, RegistryService

CATALOG: Final = default_catalog()
ADMIN_FILE: Final = "admin.json"
ADMIN_NAME: Final = "operator"
REPUBLISH_REASON: Final = "carbonid demo: the demonstration data changed"


def basic(user: str, secret: str) -> dict[str, str]:
    """An `Authorization: Basic` header; the user is percent-encoded as Handle clients send `300:<prefix>/ADMIN`."""
    token = base64.b64encode(f"{quote(user, safe='/')}:{secret}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


async def call(
    session: aiohttp.ClientSession, method: str, url: str, *, expect: Collection[int], **kwargs: Any
) -> tuple[int, Any]:
    """(status, JSON body) of a request; `DemoError` saying what went wrong for any other status."""
    try:
        async with session.request(method, url, **kwargs) as response:
            status, text = response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DemoError(f"{method} {url}: no answer ({exc or type(exc).__name__})") from exc
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    if status not in expect:
        detail = (
            (body.get("detail") or body.get("message") or body.get("title"))
            if isinstance(body, dict)
            else None
        )
        raise DemoError(f"{method} {url} answered {status}: {detail or text.strip()[:200]}")
    return status, body


# --- registries -------------------------------------------------------------------------------------


async def ensure_registry_admin(registry: RegistryService) -> None:
    """The registry's administrator: the one on file if the registry knows it, else a new one saved to file."""
    assert registry.app is not None
    service = registry.app[REGISTRY_KEY]
    path = registry.settings.data_dir / ADMIN_FILE
    saved = _saved_admin(path)
    if saved is not None:
        try:
            await authenticate_admin(service, *saved)
        except AdminAuthenticationRequired:
            pass  # the database was replaced: make a new administrator below
        else:
            registry.admin_name, registry.admin_secret = saved
            return
    for number in itertools.count(1):
        name = ADMIN_NAME if number == 1 else f"{ADMIN_NAME}-{number}"
        try:
            secret = await create_admin(service.store, name, at=datetime.now(UTC))
        except AdminExists:
            continue  # its secret is lost with the file (only a hash is kept); take the next name
        write_private_file(path, json.dumps({"name": name, "secret": secret}).encode("utf-8"))
        registry.admin_name, registry.admin_secret = name, secret
        return


def _saved_admin(path: Path) -> tuple[str, str] | None:
    """(name, secret) from the registry's admin file, None when it is missing or unreadable."""
    try:
        saved = json.loads(path.read_text("utf-8"))
        return str(saved["name"]), str(saved["secret"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: a new administrator replaces it


def _admin_headers(registry: RegistryService) -> dict[str, str]:
    assert registry.admin_name is not None
    assert registry.admin_secret is not None
    return basic(registry.admin_name, registry.admin_secret)


def _key_multibases(record: Mapping[str, Any]) -> set[str]:
    return {str(key["publicKeyMultibase"]) for key in record.get("keys", [])}


async def ensure_delegation(
    session: aiohttp.ClientSession, parent: RegistryService, child: RegistryService
) -> None:
    """`parent` delegates `child.prefix` to `child` (`POST /api/delegations` with `child`'s DID document)."""
    assert child.app is not None
    did = child.app[REGISTRY_KEY].signer.did
    url = f"{parent.url}/api/prefixes/{child.prefix}"
    status, body = await call(session, "GET", url, expect=(200, 404), headers=_admin_headers(parent))
    if status == 200:
        record = body.get("record") or {}
        if (
            body.get("kind") == "registry"
            and body.get("status") == "approved"
            and body.get("serviceUrl") == child.url
            and _key_multibases(record) == {method.public_key.multibase for method in did.methods}
        ):
            return
        raise DemoError(
            f"the {parent.name} registry holds {child.prefix} as a {body.get('status')} {body.get('kind')} prefix of "
            f"{body.get('serviceUrl')}, not delegated to the {child.name} registry's keys at {child.url}; "
            "start again with a fresh --data-dir"
        )
    delegation = {"prefix": child.prefix, "serviceUrl": child.url, "didDocument": did.to_json()}
    await call(
        session,
        "POST",
        f"{parent.url}/api/delegations",
        expect=(201,),
        json=delegation,
        headers=_admin_headers(parent),
    )


async def ensure_prefix(session: aiohttp.ClientSession, registry: RegistryService, node: NodeService) -> None:
    """The node's prefix approved at `registry`: applied for (signed by the node) and approved, unless it is."""
    assert node.app is not None
    identity = node.app[NODE_KEY].identity
    url = f"{registry.url}/api/prefixes/{node.prefix}"
    status, body = await call(session, "GET", url, expect=(200, 404), headers=_admin_headers(registry))
    state = body.get("status") if status == 200 else None
    if state == "approved":
        record = PrefixRecord.from_document(body["record"], CATALOG)
        listed = {method.public_key for method in record.keys}
        if record.service_url != node.url or any(key.public_key not in listed for key in identity.keys):
            raise DemoError(
                f"the {registry.name} registry's record of {node.prefix} names {record.service_url} and other keys "
                f"than node {node.name} at {node.url} holds; start again with a fresh --data-dir"
            )
        return
    if state == "suspended":
        raise DemoError(
            f"prefix {node.prefix} is suspended at the {registry.name} registry; reinstate it first"
        )
    if state != "pending":  # never applied, or rejected (which may apply again)
        application = build_application(
            node.settings, identity, CATALOG, profile_document(node.spec), note="carbonid demo federation"
        )
        signed = sign_application(identity, CATALOG, application, domain=registry.did)
        try:
            await submit_application(registry.url, signed)
        except (ApplicationRefused, RegistryUnreachable) as exc:
            raise DemoError(
                f"node {node.name}: the {registry.name} registry did not take the application: {exc}"
            ) from exc
    await call(session, "POST", f"{url}/approve", expect=(200,), headers=_admin_headers(registry))


# --- nodes ------------------------------------------------------------------------------------------


def _as_sent(document: Mapping[str, Any]) -> dict[str, Any]:
    """A document as the demo sends it: without the proof, the handle and version the node writes, and the
    Data Integrity context signing appends."""
    sent = {key: value for key, value in document.items() if key not in ("proof", "handle", "version")}
    context = sent.get("@context")
    if isinstance(context, list):
        sent["@context"] = [item for item in context if item != DATA_INTEGRITY_V2]
    return sent


Grants = tuple[tuple[str, str | None], ...]
"""(prefix, the customer's part code) of each grant a record should hold."""


def wanted_records(node: NodeService) -> list[tuple[str, str, dict[str, Any], str, Grants]]:
    """(suffix, template, document, visibility, grants) of every record the demo keeps on `node`."""
    spec = node.spec
    records: list[tuple[str, str, dict[str, Any], str, Grants]] = [
        (PROFILE_SUFFIX, PROFILE_TEMPLATE, profile_document(spec), "public", ())
    ]
    activity_grants: Grants = tuple((prefix, None) for prefix in spec.activity_grants)
    records += [
        (
            activity_suffix(document["period"]),
            ACTIVITY_TEMPLATE,
            document,
            spec.activity_visibility,
            activity_grants,
        )
        for document in activity_documents(spec)
    ]
    records += [
        (form.suffix, PRODUCT_TEMPLATE, form.document, form.visibility, form.grants)
        for form in forms_of(node.prefix)
    ]
    return records


async def publish_records(session: aiohttp.ClientSession, node: NodeService) -> None:
    """Publish what is missing or different on `node` (`POST /api/records` as its administrator); grant access."""
    headers = basic(f"300:{node.admin_handle}", node.admin_secret)
    records = wanted_records(node)
    node.records, node.published = len(records), 0
    for suffix, template, document, visibility, _ in records:
        handle = f"{node.prefix}/{suffix}"
        status, body = await call(
            session, "GET", f"{node.url}/api/records/{handle}", expect=(200, 404), headers=headers
        )
        request: dict[str, Any] = {
            "template": template,
            "document": document,
            "suffix": suffix,
            "visibility": visibility,
        }
        if status == 200:
            if _as_sent(body["document"]) == _as_sent(document) and body.get("visibility") == visibility:
                continue
            request["reason"] = REPUBLISH_REASON
        await call(session, "POST", f"{node.url}/api/records", expect=(201,), json=request, headers=headers)
        node.published += 1
    for suffix, _, _, _, grants in records:
        if grants:
            await _ensure_grants(session, node, f"{node.prefix}/{suffix}", grants, headers)


async def _ensure_grants(
    session: aiohttp.ClientSession, node: NodeService, handle: str, grants: Grants, headers: Mapping[str, str]
) -> None:
    url = f"{node.url}/api/records/{handle}/grants"
    _, body = await call(session, "GET", url, expect=(200,), headers=headers)
    active = {grant["prefix"] for grant in body["grants"] if grant["active"]}
    for prefix, part_code in grants:
        if prefix not in active:
            grant: dict[str, str] = {"prefix": prefix}
            if part_code is not None:
                grant["partCode"] = part_code
            await call(session, "POST", url, expect=(201,), json=grant, headers=headers)


async def provision(federation: Federation, session: aiohttp.ClientSession) -> None:
    """Administrators, delegation, prefixes and records of the whole federation (only what is missing)."""
    for registry in federation.registries:
        await ensure_registry_admin(registry)
    for registry in federation.registries:
        if registry.parent is not None:
            await ensure_delegation(session, federation.registry(registry.parent), registry)
    for node in federation.nodes:
        await ensure_prefix(session, federation.registry(node.spec.registry), node)
        await publish_records(session, node)
