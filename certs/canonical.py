"""RDF Dataset Canonicalization (RDFC-1.0 / URDNA2015) of JSON-LD, offline and in "safe mode".

Three rules make what we sign mean what it says, and agree with independent verifiers:

- Offline: contexts come only from an `OfflineDocumentLoader` holding bundled documents. Any other
  URL raises `ContextNotAllowedError`; nothing is ever fetched.
- Safe mode, as jsonld.js applies it for Data Integrity: a JSON member whose term the context does not
  define, or a relative IRI, would silently vanish from the RDF and so go unsigned. Such a document is
  refused with `UnsafeDocumentError` instead.
- pyld and the JavaScript canonicalizer escape some control characters differently (U+0000–U+0008,
  U+000B, U+000C, U+000E–U+001F, U+007F: measured against jsonld.js 9), so a string holding one would
  verify in one and fail in the other. Those characters are refused; tab, LF and CR escape identically
  and are allowed.
"""

from __future__ import annotations

import copy
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from certs.errors import ContextNotAllowedError, UnsafeDocumentError

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"

# Characters on which pyld and jsonld.js produce different canonical N-Quads.
_UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_RESOLVED_CONTEXT_CACHE_SIZE = 256


class _BoundedCache(OrderedDict[str, Any]):
    """A small LRU mapping for pyld's resolved-context cache (inline contexts would otherwise pile up)."""

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > _RESOLVED_CONTEXT_CACHE_SIZE:
            self.popitem(last=False)


class OfflineDocumentLoader:
    """A pyld document loader that serves bundled JSON-LD documents and refuses every other URL.

    Each loader keeps its own cache of resolved contexts, so a context one loader allows never leaks
    into another's processing, and no context is resolved twice.
    """

    __slots__ = ("_cache", "_documents")

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._documents = {url: copy.deepcopy(dict(doc)) for url, doc in documents.items()}
        self._cache = _BoundedCache()

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        """Return the bundled document for `url` in pyld's remote-document shape."""
        document = self._documents.get(url)
        if document is None:
            raise ContextNotAllowedError(url)
        # "tag" lets pyld keep the resolved context in our cache instead of re-resolving it each time.
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document), "tag": "static"}

    @property
    def urls(self) -> tuple[str, ...]:
        """The URLs this loader serves."""
        return tuple(self._documents)

    def document(self, url: str) -> dict[str, Any]:
        """A copy of the bundled document at `url` (raises `ContextNotAllowedError` if absent)."""
        return self(url)["document"]  # type: ignore[no-any-return]

    def extended(self, documents: Mapping[str, Mapping[str, Any]]) -> OfflineDocumentLoader:
        """A new loader serving these documents as well; a URL may not be bound to two documents."""
        for url, doc in documents.items():
            if url in self._documents and self._documents[url] != dict(doc):
                raise ValueError(f"context URL {url} is already bundled with different content")
        return OfflineDocumentLoader({**self._documents, **documents})

    def options(self) -> dict[str, Any]:
        """pyld processing options bound to this loader."""
        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self._cache, self),
            "processingMode": "json-ld-1.1",
            # No document base: pyld would otherwise resolve relative IRIs against its made-up
            # http://example.org/base/, which no other processor does. Left relative, they are refused.
            "base": None,
        }


@cache
def w3c_contexts() -> dict[str, dict[str, Any]]:
    """The W3C contexts carbonid bundles (VC 2.0, Data Integrity, Multikey, DID), keyed by URL."""
    folder = resources.files("certs") / "contexts"
    index = json.loads((folder / "index.json").read_text("utf-8"))
    return {url: json.loads((folder / name).read_text("utf-8")) for url, name in index["contexts"].items()}


@cache
def w3c_loader() -> OfflineDocumentLoader:
    """A loader serving exactly the bundled W3C contexts."""
    return OfflineDocumentLoader(w3c_contexts())


def _refuse_network(url: str, options: Any = None) -> dict[str, Any]:
    raise ContextNotAllowedError(url)


# Belt and braces: pyld's module default would fetch over HTTP; any caller that forgets to pass our
# loader gets a refusal instead of a network request.
jsonld.set_document_loader(_refuse_network)


def check_signable_strings(document: Any, pointer: str = "") -> None:
    """Raise `UnsafeDocumentError` (with its JSON pointer) for a control character in any key or string."""
    if isinstance(document, str):
        match = _UNSAFE_CHARACTERS.search(document)
        if match:
            raise UnsafeDocumentError(
                f"control character U+{ord(match.group()):04X} cannot be signed", pointer
            )
    elif isinstance(document, Mapping):
        for key, value in document.items():
            child = f"{pointer}/{_escape_pointer(str(key))}"
            if _UNSAFE_CHARACTERS.search(str(key)):
                raise UnsafeDocumentError("control character in a member name cannot be signed", child)
            check_signable_strings(value, child)
    elif isinstance(document, list):
        for i, value in enumerate(document):
            check_signable_strings(value, f"{pointer}/{i}")


class _SafeProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """A pyld processor whose expansion refuses what would silently go unsigned.

    `to_rdf` expands through `expand`; checking there means a document is expanded exactly once.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._dropped: list[str | None] = []
        super().__init__(on_property_dropped=self._dropped.append)
        self._document = document

    def expand(self, input_: Any, options: Any) -> Any:
        expanded = super().expand(input_, options)
        if self._dropped:
            term = self._dropped[0] or ""
            raise UnsafeDocumentError(
                f"member {term!r} is not defined by the document's @context, so it would not be signed",
                _find_member(self._document, term),
            )
        for iri in _node_iris(expanded):
            if not iri.startswith("_:") and not _ABSOLUTE_IRI.match(iri):
                raise UnsafeDocumentError(f"relative IRI {iri!r} would not be signed; use an absolute IRI")
        return expanded


def expand(document: Mapping[str, Any], loader: OfflineDocumentLoader) -> list[Any]:
    """Expand JSON-LD in safe mode: undefined terms and relative IRIs raise `UnsafeDocumentError`."""
    try:
        return _SafeProcessor(document).expand(dict(document), loader.options())  # type: ignore[no-any-return]
    except jsonld.JsonLdError as exc:
        raise _translate(exc) from None


def canonicalize(document: Mapping[str, Any], loader: OfflineDocumentLoader | None = None) -> str:
    """Canonical N-Quads (RDFC-1.0) of a JSON-LD document, after the safety checks above."""
    loader = loader or w3c_loader()
    check_signable_strings(document)
    try:
        dataset = _SafeProcessor(document).to_rdf(dict(document), loader.options())
        return URDNA2015().main(dataset, {"algorithm": "URDNA2015", "format": "application/n-quads"})  # type: ignore[no-any-return]
    except jsonld.JsonLdError as exc:
        raise _translate(exc) from None


def _translate(exc: BaseException) -> Exception:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ContextNotAllowedError):
            return cause
        details = getattr(cause, "details", None)
        inner = details.get("cause") if isinstance(details, dict) else None
        cause = inner if isinstance(inner, BaseException) else cause.__cause__
    return UnsafeDocumentError(f"not valid JSON-LD: {exc}")


def _node_iris(value: Any) -> Iterator[str]:
    """Every @id and node/datatype @type IRI in an expanded document."""
    if isinstance(value, list):
        for item in value:
            yield from _node_iris(item)
    elif isinstance(value, dict):
        if "@value" in value:
            if isinstance(value.get("@type"), str) and value["@type"] != "@json":
                yield value["@type"]
            return
        if isinstance(value.get("@id"), str):
            yield value["@id"]
        types = value.get("@type", [])
        yield from (t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str))
        for key, child in value.items():
            if key not in ("@id", "@type"):
                yield from _node_iris(child)


def _find_member(document: Any, term: str, pointer: str = "") -> str:
    """The JSON pointer of the first member named `term` (pyld reports only the name)."""
    if isinstance(document, Mapping):
        for key, value in document.items():
            child = f"{pointer}/{_escape_pointer(str(key))}"
            if key == term:
                return child
            found = _find_member(value, term, child)
            if found:
                return found
    elif isinstance(document, list):
        for i, value in enumerate(document):
            found = _find_member(value, term, f"{pointer}/{i}")
            if found:
                return found
    return ""


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
