"""What every use-case of the node works with: settings, signing identity, templates, storage, secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from certs.data_integrity import format_datetime
from certs.identity import ServiceIdentity
from certs.keys import KeyAlgorithm, signing_algorithms
from common.passwords import SecretChecker
from handle_registry.identifiers import Prefix, parse_prefix
from metadata_templates import Catalog
from node.repository import NodeStore
from node.settings import NodeSettings


def key_algorithms(settings: NodeSettings) -> tuple[KeyAlgorithm, ...]:
    """The node's signing keys: Ed25519 always (it signs the log), SM2 too when `sign_sm2`."""
    return signing_algorithms(settings.sign_sm2)


def load_identity(settings: NodeSettings) -> ServiceIdentity:
    """The node's keys (created on first use in `data_dir/keys`) and its did:web DID document.

    The identity follows the key files: after `carbonid node keys rotate` / `revoke`, a running node signs
    with the new key from its next signature on, without a restart (`certs.identity`).
    """
    return ServiceIdentity.load_or_create(
        settings.data_dir / "keys", settings.base_url(), algorithms=key_algorithms(settings)
    )


def now_text() -> str:
    """The current time as stored and served: ISO-8601 UTC, whole seconds."""
    return format_datetime(datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class NodeContext:
    """The node's long-lived parts, made once at start-up and shared by every request."""

    settings: NodeSettings
    identity: ServiceIdentity
    catalog: Catalog
    store: NodeStore
    secrets: SecretChecker

    @property
    def prefix(self) -> Prefix:
        """The prefix this node serves."""
        return parse_prefix(self.settings.prefix)

    @property
    def admin_user(self) -> str:
        """`300:<prefix>/ADMIN`."""
        return self.settings.admin_user
