"""The node's requests to its registry: applying for its prefix, reading its prefix record, changing its keys.

The application carries the enterprise profile, the node's service URL, DID and current keys. It is a
signed request (`certs.signed_requests`): one Data Integrity proof for authentication, made with the
node's Ed25519 key, bound to the registry's DID (`domain`), fresh (`created`) and single-use (`nonce`),
which also proves the node holds the key it asks the registry to list. The registry answers
`POST /api/prefixes` with 201 `{"prefix", "status": "pending", "href"}` or a problem+json.

Key changes (`POST /api/prefixes/{prefix}/keys`, a signed `key-change/1`) are built by `node.key_rotation`;
here they are only sent. The registry answers with the new signed prefix record.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from certs.data_integrity import ASSERTION_METHOD
from certs.did import did_web_for_url
from certs.identity import ServiceIdentity
from handle_registry.identifiers import InvalidPrefix, parse_prefix
from handle_registry.prefix_records import key_entry
from metadata_templates import Catalog, TemplateValidationError, ValidationIssue, validate
from node.settings import NodeSettings

APPLICATION_TEMPLATE: Final = "prefix-application/1"
PROFILE_TEMPLATE: Final = "enterprise-profile/1"
APPLICATIONS_PATH: Final = "/api/prefixes"


class RegistryRefused(Exception):
    """The registry answered with an error; `status` and its problem details (or text) say why."""

    def __init__(self, status: int, problem: Mapping[str, Any] | None, text: str) -> None:
        self.status = status
        self.problem = dict(problem) if problem is not None else None
        title = (problem or {}).get("title") or f"HTTP {status}"
        detail = (problem or {}).get("detail") or ("" if problem else text.strip()[:300])
        super().__init__(f"{title}: {detail}" if detail else str(title))


class ApplicationRefused(RegistryRefused):
    """The registry refused the prefix application."""


class RegistryUnreachable(Exception):
    """The registry could not be reached or did not answer."""


@dataclass(frozen=True, slots=True)
class ApplicationAnswer:
    """The registry's acceptance: the prefix, its status (pending until approved) and where to follow it."""

    status: int
    body: dict[str, Any]


def registry_did(registry_url: str, explicit: str | None = None) -> str:
    """The registry's DID: given, or the did:web of its URL (how every carbonid service names itself)."""
    return explicit or did_web_for_url(registry_url)


def build_application(
    settings: NodeSettings,
    identity: ServiceIdentity,
    catalog: Catalog,
    profile: Mapping[str, Any],
    *,
    note: str | None = None,
) -> dict[str, Any]:
    """The unsigned application for `settings.prefix`; raises `TemplateValidationError` (pointers from the
    application's root, the profile's under `/profile`) when the profile or the application is invalid."""
    application = catalog.resolve(APPLICATION_TEMPLATE)
    profile_template = catalog.resolve(PROFILE_TEMPLATE)
    issues: list[ValidationIssue] = []
    try:
        validate(profile_template, {k: v for k, v in profile.items() if k != "proof"})
    except TemplateValidationError as exc:
        issues.extend(ValidationIssue(f"/profile{issue.pointer}", issue.message) for issue in exc.issues)
    declared = profile.get("prefix")
    try:
        same = isinstance(declared, str) and parse_prefix(declared) == parse_prefix(settings.prefix)
    except InvalidPrefix:
        same = True  # already reported by the template validation
    if not same:
        issues.append(
            ValidationIssue("/profile/prefix", f"is {declared!r}; this node applies for {settings.prefix}")
        )
    if issues:
        raise TemplateValidationError(application, issues)
    held = {identity.method_id(key) for key in identity.keys}
    document: dict[str, Any] = {
        "@context": [application.context_url],
        "type": application.jsonld_type,
        "prefix": settings.prefix,
        "serviceUrl": settings.base_url(),
        "did": identity.did.id,
        # The keys the node signs with; former keys (kept in its DID document to verify old proofs) are not
        # applied for.
        "keys": [
            key_entry(method) for method in identity.did.active_methods(ASSERTION_METHOD) if method.id in held
        ],
        "profile": dict(profile),
    }
    if note:
        document["note"] = note
    validate(application, document)
    return document


def sign_application(
    identity: ServiceIdentity, catalog: Catalog, document: Mapping[str, Any], *, domain: str
) -> dict[str, Any]:
    """The application as a signed request for the registry whose DID is `domain`."""
    return identity.sign_request(document, catalog.loader, domain=domain)


async def submit_application(
    registry_url: str,
    signed: Mapping[str, Any],
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout_seconds: float = 30,
) -> ApplicationAnswer:
    """POST the signed application to `<registry_url>/api/prefixes`.

    Raises `ApplicationRefused` for any non-2xx answer and `RegistryUnreachable` when no answer comes.
    """
    url = registry_url.rstrip("/") + APPLICATIONS_PATH
    status, body, text = await _exchange("POST", url, signed, ssl_context, timeout_seconds)
    if not 200 <= status < 300:
        raise ApplicationRefused(status, body, text)
    return ApplicationAnswer(status, body or {})


async def fetch_prefix_record(
    registry_url: str,
    prefix: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout_seconds: float = 30,
) -> dict[str, Any]:
    """The registry's current signed record of `prefix` (`GET /api/prefixes/{prefix}`, member `record`).

    Raises `RegistryRefused` for an error answer or a prefix without a record (not approved yet), and
    `RegistryUnreachable` when no answer comes.
    """
    url = f"{registry_url.rstrip('/')}{APPLICATIONS_PATH}/{quote(prefix, safe='')}"
    status, body, text = await _exchange("GET", url, None, ssl_context, timeout_seconds)
    if not 200 <= status < 300:
        raise RegistryRefused(status, body, text)
    record = (body or {}).get("record")
    if not isinstance(record, dict):
        state = (body or {}).get("status", "unknown")
        raise RegistryRefused(
            status, {"title": "No prefix record", "detail": f"prefix {prefix} is {state}"}, ""
        )
    return record


async def submit_key_change(
    registry_url: str,
    prefix: str,
    signed: Mapping[str, Any],
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout_seconds: float = 30,
) -> dict[str, Any]:
    """POST a signed `key-change/1` to `<registry_url>/api/prefixes/{prefix}/keys`; the new signed record.

    Raises `RegistryRefused` for any non-2xx answer and `RegistryUnreachable` when no answer comes.
    """
    url = f"{registry_url.rstrip('/')}{APPLICATIONS_PATH}/{quote(prefix, safe='')}/keys"
    status, body, text = await _exchange("POST", url, signed, ssl_context, timeout_seconds)
    if not 200 <= status < 300 or body is None:
        raise RegistryRefused(status, body, text)
    return body


async def _exchange(
    method: str,
    url: str,
    document: Mapping[str, Any] | None,
    ssl_context: ssl.SSLContext | None,
    timeout_seconds: float,
) -> tuple[int, dict[str, Any] | None, str]:
    """One request: the status, the body when it is a JSON object, and the text."""
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(
                method, url, json=document, ssl=ssl_context if ssl_context is not None else True
            ) as response,
        ):
            text = await response.text()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RegistryUnreachable(f"{url}: {exc or type(exc).__name__}") from exc
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    return status, body if isinstance(body, dict) else None, text
