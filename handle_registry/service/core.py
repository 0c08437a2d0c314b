"""What every registry use-case shares: the `Registry` it runs against, signing records, checking requests.

No HTTP here: use-cases take parsed values and raise the problems of `handle_registry.service.errors`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from certs.canonical import OfflineDocumentLoader
from certs.data_integrity import KeyResolver
from certs.did import DidDocument, VerificationMethod
from certs.errors import (
    DomainMismatchError,
    InvalidSignatureError,
    KeyExpiredError,
    KeyRevokedError,
    MalformedProofError,
    StaleRequestError,
    UnknownVerificationMethodError,
    VerificationError,
)
from certs.signed_requests import VerifiedRequest, verify_request
from common.passwords import SecretChecker
from handle_registry.identifiers import InvalidPrefix, Prefix
from handle_registry.prefix_records import PrefixRecord, prefix_record_document
from handle_registry.service.errors import (
    InvalidDocument,
    InvalidPrefixParameter,
    PrefixNotServed,
    SignatureRejected,
    invalid,
)
from handle_registry.service.repository import RegistryStore
from handle_registry.service.settings import RegistrySettings
from handle_registry.values import HandleValue
from metadata_templates import Catalog, Template, TemplateValidationError, ValidationIssue, validate

VALUES_CACHE_SIZE: Final = 4096
MAX_NONCE_LENGTH: Final = 255
# W3C DID syntax (did:method:id, idchars and %-escapes) and a DID URL fragment; stricter than the templates'
# "^did:", so that whatever is accepted can be signed into a record.
DID_SYNTAX: Final = re.compile(
    r"did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
)
FRAGMENT_SYNTAX: Final = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})+")


class RecordSigner(Protocol):
    """What signs prefix records: `certs.identity.ServiceIdentity`, or a stand-in in tests."""

    @property
    def did(self) -> DidDocument:
        """The registry's DID document: the trust anchor resolvers pin."""
        ...

    def sign(
        self, document: Mapping[str, Any], loader: OfflineDocumentLoader, *, created: datetime | None = None
    ) -> dict[str, Any]:
        """`document` with the registry's assertion proofs."""
        ...


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Registry:
    """Everything a use-case needs: settings, storage, the signer, the templates, the clock."""

    settings: RegistrySettings
    store: RegistryStore
    signer: RecordSigner
    catalog: Catalog
    clock: Callable[[], datetime] = utc_now
    checker: SecretChecker = field(default_factory=SecretChecker)
    # Handle values of a (prefix, record version): records are append-only, so an entry never goes stale.
    values_cache: OrderedDict[tuple[str, int], tuple[HandleValue, ...]] = field(default_factory=OrderedDict)

    @property
    def did(self) -> str:
        """This registry's DID: the `domain` signed requests must name and the `registry` of its records."""
        return self.signer.did.id

    @property
    def max_age(self) -> timedelta:
        """How old a signed request may be."""
        return timedelta(seconds=self.settings.request_max_age_seconds)

    def now(self) -> datetime:
        """The current time, whole seconds (records carry whole seconds)."""
        return self.clock().astimezone(UTC).replace(microsecond=0)


def check_did(did: str, pointer: str) -> None:
    """422 unless `did` is a syntactically valid DID."""
    if not DID_SYNTAX.fullmatch(did):
        raise invalid(pointer, f"{did!r} is not a DID (did:<method>:<id>)")


def check_method_id(method_id: str, did: str, pointer: str) -> None:
    """422 unless `method_id` is `<did>#<fragment>`."""
    fragment = method_id[len(did) + 1 :] if method_id.startswith(did + "#") else ""
    if not FRAGMENT_SYNTAX.fullmatch(fragment):
        raise invalid(pointer, f"a key id must be a fragment of the DID {did} ({did}#...)")


def parse_path_prefix(text: str) -> Prefix:
    """A prefix named in a URL path; 400 `invalid-prefix` when it is not one."""
    try:
        return Prefix(text)
    except InvalidPrefix as exc:
        raise InvalidPrefixParameter(str(exc)) from None


def check_served(registry: Registry, prefix: Prefix, pointer: str = "/prefix") -> Prefix:
    """The served prefix `prefix` lies strictly below; 422 `prefix-not-served` otherwise."""
    for served in registry.settings.served():
        if prefix.is_below(served):
            return served
    listed = ", ".join(registry.settings.served_prefixes)
    raise PrefixNotServed(
        f"prefix {prefix} is not below a prefix this registry serves ({listed})",
        pointer=pointer,
        servedPrefixes=list(registry.settings.served_prefixes),
    )


def validate_against(template: Template, document: Any, *, pointer: str = "") -> None:
    """Validate with the template; 422 listing every issue (pointers under `pointer`)."""
    try:
        validate(template, document)
    except TemplateValidationError as exc:
        issues = [ValidationIssue(pointer + issue.pointer, issue.message) for issue in exc.issues]
        raise InvalidDocument(f"{template.ref}: {issues[0]}" + _more(issues), issues) from None


def _more(issues: list[ValidationIssue]) -> str:
    return f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""


def unsigned(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without its proof, as templates describe it."""
    return {key: value for key, value in document.items() if key != "proof"}


_SIGNATURE_CODES: Final[tuple[tuple[type[VerificationError], str], ...]] = (
    (StaleRequestError, "signature-stale"),
    (DomainMismatchError, "signature-wrong-domain"),
    (KeyExpiredError, "key-retired"),
    (KeyRevokedError, "key-revoked"),
    (InvalidSignatureError, "signature-invalid"),
    (MalformedProofError, "signature-malformed"),
)


def verify_signed_request(
    registry: Registry, document: Mapping[str, Any], keys: KeyResolver, *, unknown_key_code: str
) -> VerifiedRequest:
    """Verify a request signed for this registry; 401 with a precise `type` code otherwise.

    `unknown_key_code` names the problem when the signing key is not one the request may be signed with.
    """
    proof = document.get("proof")
    nonce = proof.get("nonce") if isinstance(proof, Mapping) else None
    if isinstance(nonce, str) and len(nonce) > MAX_NONCE_LENGTH:
        raise SignatureRejected("signature-malformed", f"a nonce has at most {MAX_NONCE_LENGTH} characters")
    if "proof" not in document:
        raise SignatureRejected(
            "signature-missing",
            f"the request carries no proof: sign it (proofPurpose authentication, domain = {registry.did})",
        )
    try:
        return verify_request(
            document,
            keys,
            domain=registry.did,
            loader=registry.catalog.loader,
            now=registry.clock(),
            max_age=registry.max_age,
        )
    except UnknownVerificationMethodError as exc:
        raise SignatureRejected(unknown_key_code, str(exc)) from None
    except VerificationError as exc:
        code = next((code for kind, code in _SIGNATURE_CODES if isinstance(exc, kind)), "signature-invalid")
        raise SignatureRejected(code, str(exc)) from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # Whatever a hostile proof makes the JSON-LD machinery trip over, it is a malformed proof, not a crash.
        raise SignatureRejected("signature-malformed", f"the proof cannot be checked: {exc}") from None


def nonce_expiry(registry: Registry, request: VerifiedRequest) -> datetime:
    """Until when a request's nonce must be remembered: after that the request is stale anyway."""
    return request.created + registry.max_age + timedelta(minutes=5)


def sign_record(
    registry: Registry,
    *,
    prefix: Prefix,
    kind: str,
    status: str,
    version: int,
    issued: datetime,
    service_url: str,
    did: str,
    keys: tuple[VerificationMethod, ...],
    enterprise: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A signed prefix-record document issued by this registry."""
    try:
        document = prefix_record_document(
            prefix=prefix,
            kind=kind,
            status=status,
            version=version,
            issued=issued,
            registry=registry.did,
            service_url=service_url,
            did=did,
            keys=keys,
            catalog=registry.catalog,
            enterprise=enterprise,
        )
    except TemplateValidationError as exc:
        # The request was checked before; this is the last guard, answered as what it is: unusable content.
        issues = [ValidationIssue("", f"the prefix record would be invalid: {issue}") for issue in exc.issues]
        raise InvalidDocument(str(issues[0]), issues) from None
    return registry.signer.sign(document, registry.catalog.loader, created=issued)


def reissue(
    registry: Registry,
    record: PrefixRecord,
    *,
    status: str,
    issued: datetime,
    keys: tuple[VerificationMethod, ...] | None = None,
) -> dict[str, Any]:
    """The next version of a record: same holder, a new status and/or keys, signed now."""
    enterprise = {
        name: value
        for name, value in (
            ("enterpriseName", record.enterprise_name),
            ("uscc", record.uscc),
            ("region", record.region),
            ("industry", record.industry),
        )
        if value
    }
    return sign_record(
        registry,
        prefix=record.prefix,
        kind=record.kind,
        status=status,
        version=record.version + 1,
        issued=issued,
        service_url=record.service_url,
        did=record.did,
        keys=record.keys if keys is None else keys,
        enterprise=enterprise,
    )
