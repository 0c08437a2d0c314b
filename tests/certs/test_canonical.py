"""Canonicalization: offline, safe mode, and the control characters RDFC implementations disagree on."""

import socket

import pytest
from pyld import jsonld

from certs.canonical import (
    CREDENTIALS_V2,
    OfflineDocumentLoader,
    canonicalize,
    check_signable_strings,
    w3c_loader,
)
from certs.errors import ContextNotAllowedError, UnsafeDocumentError

CREDENTIAL = {
    "@context": [CREDENTIALS_V2],
    "type": ["VerifiableCredential"],
    "issuer": "did:web:registry.example",
    "credentialSubject": {"id": "did:web:node.example", "name": "湖州某铝业有限公司"},
}


@pytest.fixture
def no_network(monkeypatch):
    """Record and refuse every attempt to open a connection or resolve a name."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_remote_context_is_refused_without_a_network_request(no_network):
    document = {"@context": "https://schema.org/", "name": "x"}
    with pytest.raises(ContextNotAllowedError, match=r"https://schema.org/.*never fetched"):
        canonicalize(document)
    assert no_network == []


def test_pyld_default_loader_refuses_too(no_network):
    # Code that forgets to pass our loader still gets a refusal, not an HTTP request.
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand({"@context": "https://example.org/ctx.jsonld", "a": 1})
    assert no_network == []


def test_nested_remote_context_is_refused(no_network):
    document = dict(CREDENTIAL, credentialSubject={"@context": "https://evil.example/c", "id": "did:web:x"})
    with pytest.raises(ContextNotAllowedError):
        canonicalize(document)
    assert no_network == []


def test_bundled_contexts_canonicalize_offline(no_network):
    nquads = canonicalize(CREDENTIAL)
    assert '<did:web:node.example> <https://schema.org/name> "湖州某铝业有限公司" .' in nquads
    assert no_network == []


def test_loader_only_serves_what_it_holds():
    loader = OfflineDocumentLoader({"https://a.example/ctx": {"@context": {"x": "https://a.example/x"}}})
    assert loader.urls == ("https://a.example/ctx",)
    with pytest.raises(ContextNotAllowedError):
        loader(CREDENTIALS_V2)
    extended = loader.extended({"https://b.example/ctx": {"@context": {}}})
    assert set(extended.urls) == {"https://a.example/ctx", "https://b.example/ctx"}
    with pytest.raises(ValueError, match="already bundled"):
        loader.extended({"https://a.example/ctx": {"@context": {"y": "https://a.example/y"}}})


def test_undefined_term_is_refused_with_its_pointer():
    document = dict(CREDENTIAL, credentialSubject={"id": "did:web:x", "name": "n", "totalEmissions": 12})
    with pytest.raises(UnsafeDocumentError) as caught:
        canonicalize(document)
    assert caught.value.pointer == "/credentialSubject/totalEmissions"
    assert "would not be signed" in str(caught.value)


def test_relative_iri_is_refused():
    with pytest.raises(UnsafeDocumentError, match="relative IRI 'registry'"):
        canonicalize(dict(CREDENTIAL, issuer="registry"))


@pytest.mark.parametrize("code", [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
def test_control_characters_that_canonicalizers_disagree_on_are_refused(code):
    document = dict(CREDENTIAL, credentialSubject={"id": "did:web:x", "name": f"a{chr(code)}b"})
    with pytest.raises(UnsafeDocumentError) as caught:
        canonicalize(document)
    assert caught.value.pointer == "/credentialSubject/name"
    assert f"U+{code:04X}" in str(caught.value)


@pytest.mark.parametrize(
    "text", ["tab\tseparated", "two\nlines", "crlf\r\nline", "C1 \x85 next-line", "\u2028"]
)
def test_characters_escaped_identically_are_allowed(text):
    canonicalize(dict(CREDENTIAL, credentialSubject={"id": "did:web:x", "name": text}))


def test_control_character_in_a_member_name_is_refused():
    with pytest.raises(UnsafeDocumentError, match="member name"):
        check_signable_strings({"a": {"b\x00": 1}})


def test_canonical_form_ignores_member_order_and_whitespace():
    reordered = {key: CREDENTIAL[key] for key in reversed(list(CREDENTIAL))}
    assert canonicalize(reordered) == canonicalize(CREDENTIAL)


def test_loaders_do_not_share_resolved_contexts():
    # A context allowed by one loader must not become available through another loader's cache.
    url = "https://a.example/ctx"
    permissive = OfflineDocumentLoader({url: {"@context": {"x": "https://a.example/x"}}})
    document = {"@context": url, "@id": "https://a.example/s", "x": "1"}
    canonicalize(document, permissive)
    with pytest.raises(ContextNotAllowedError):
        canonicalize(document, w3c_loader())
