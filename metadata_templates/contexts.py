"""JSON-LD contexts of the templates, derived from their JSON Schemas.

A template's context must define every member its schema allows, or the member would drop out of the
canonical form unsigned. Each context maps terms into the carbonid vocabulary (`@vocab`) and adds what
a plain vocabulary mapping would get wrong:

- arrays are `@list`: RDF treats plain JSON-LD arrays as unordered sets, so reordering or duplicating
  lines would not change the signature;
- dates and date-times are typed (`xsd:date`, `xsd:dateTime`);
- URL members are IRIs (`@type: @id`).

The committed `context.jsonld` of a template is what gets signed against and must never change for a
published version; `tests/metadata_templates` checks it still equals `context_from_schema(schema)`.
Run `python -m metadata_templates.contexts DIR` to print the context for a new template's schema.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

VOCAB = "https://carbonid.org/ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# Members defined by the W3C Verifiable Credentials 2.0 context, which is @protected: a template that is
# a credential must not redefine them.
VC_TERMS = frozenset(
    {
        "id",
        "type",
        "name",
        "description",
        "issuer",
        "validFrom",
        "validUntil",
        "credentialStatus",
        "credentialSubject",
        # BitstringStatusListEntry's members (the entry type's scoped context in the VC 2.0 context).
        "statusPurpose",
        "statusListIndex",
        "statusListCredential",
    }
)
_KEYWORD_MEMBERS = frozenset({"@context", "id", "type"})
# Terms the Data Integrity context defines (protected) inside a proof. A template context that is
# @protected and defines one of them makes every signed document unprocessable, since a type-scoped
# context may not redefine a protected term.
PROOF_TERMS = frozenset(
    {
        "proof",
        "created",
        "expires",
        "domain",
        "challenge",
        "nonce",
        "previousProof",
        "proofPurpose",
        "proofValue",
        "cryptosuite",
        "verificationMethod",
    }
)


def schema_members(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """Every object member a schema allows, recursively: (name, its schema with $ref resolved, JSON pointer)."""
    yield from _members(schema, schema, "")


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    merged = dict(_resolve(root, target))
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return merged


def _members(
    root: Mapping[str, Any], node: Mapping[str, Any], pointer: str
) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    node = _resolve(root, node)
    for name, child in node.get("properties", {}).items():
        resolved = _resolve(root, child)
        yield name, resolved, f"{pointer}/{name}"
        yield from _members(root, resolved, f"{pointer}/{name}")
    items = node.get("items")
    if isinstance(items, Mapping):
        yield from _members(root, items, f"{pointer}/*")
    for item in node.get("prefixItems", []):
        yield from _members(root, item, f"{pointer}/*")


def term_definition(member: Mapping[str, Any], name: str) -> dict[str, str] | None:
    """The term definition a member needs beyond the plain `@vocab` mapping, or None."""
    if member.get("type") == "array":
        return {"@id": VOCAB + name, "@container": "@list"}
    match member.get("format"):
        case "date":
            return {"@id": VOCAB + name, "@type": "xsd:date"}
        case "date-time":
            return {"@id": VOCAB + name, "@type": "xsd:dateTime"}
        case "uri":
            return {"@id": VOCAB + name, "@type": "@id"}
    return None


def context_from_schema(schema: Mapping[str, Any], *, credential: bool = False) -> dict[str, Any]:
    """The JSON-LD context document a template's schema needs (see the module docstring)."""
    reserved = VC_TERMS if credential else _KEYWORD_MEMBERS
    terms: dict[str, dict[str, str]] = {}
    for name, member, pointer in schema_members(schema):
        if name in reserved or name.startswith("@"):
            continue
        if name in PROOF_TERMS:
            raise ValueError(
                f"member {name!r} at {pointer} collides with a Data Integrity proof term; rename it"
            )
        definition = term_definition(member, name)
        if definition is None:
            continue
        if name in terms and terms[name] != definition:
            raise ValueError(f"member {name!r} at {pointer} needs a different term definition than elsewhere")
        terms[name] = definition
    context: dict[str, Any] = {"@version": 1.1, "@protected": True, "@vocab": VOCAB, "xsd": XSD}
    if not credential:
        context.update({"id": "@id", "type": "@type"})
    context.update(dict(sorted(terms.items())))
    return {"@context": context}


def main(argv: list[str]) -> int:
    """Print the context for the template in directory argv[0]."""
    if len(argv) != 1:
        print("usage: python -m metadata_templates.contexts TEMPLATE_VERSION_DIR", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    schema = json.loads((folder / "schema.json").read_text("utf-8"))
    template = json.loads((folder / "template.json").read_text("utf-8"))
    credential = "VerifiableCredential" in json.dumps(schema.get("properties", {}).get("type", {}))
    context = context_from_schema(schema, credential=credential)
    assert template["context"]  # every template names its canonical context URL
    print(json.dumps(context, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
