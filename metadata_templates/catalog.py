"""The template catalog: versioned templates shipped as data, and the offline loader for their contexts.

Each template lives in `templates/<id>/<version>/` as three files: `template.json` (id, version, labels,
JSON-LD type, canonical context URL, GB/T 4754 scope), `schema.json` (JSON Schema 2020-12 with `x-labels`
{zh, en} on every member and `x-idIndex` on top-level members) and `context.jsonld`. The template items
of the industrial-internet convention (name, idType, idIndex, required, labels) are derived from the
schema, so nothing is written twice.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from certs.canonical import OfflineDocumentLoader, w3c_loader

FIELD_INDEX_BASE = 2000


class TemplateNotFoundError(LookupError):
    """No template with that id (and version) is in the catalog."""


@dataclass(frozen=True, slots=True)
class Labels:
    """A Chinese and an English label."""

    zh: str
    en: str

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Labels:
        """From `{"zh": …, "en": …}`."""
        return cls(zh=data["zh"], en=data["en"])


@dataclass(frozen=True, slots=True)
class TemplateItem:
    """One top-level member of a template, as the industrial-internet identifier convention lists it."""

    name: str
    id_index: int
    id_type: str
    required: bool
    labels: Labels


@dataclass(frozen=True, eq=False)
class Template:
    """One version of a metadata template."""

    id: str
    version: int
    labels: Labels
    description: Labels
    jsonld_type: str
    context_url: str
    industries: tuple[str, ...]
    schema: Mapping[str, Any]
    context: Mapping[str, Any]
    example: Mapping[str, Any] | None = None

    def example_document(self) -> dict[str, Any]:
        """A fresh copy of the template's shipped example document."""
        if self.example is None:
            raise LookupError(f"template {self.ref} ships no example")
        return copy.deepcopy(dict(self.example))

    @property
    def ref(self) -> str:
        """`<id>/<version>`, the value stored at index 1001 (TEMPLATE) of every record."""
        return f"{self.id}/{self.version}"

    @property
    def is_credential(self) -> bool:
        """Whether documents of this template are W3C Verifiable Credentials."""
        return "https://www.w3.org/ns/credentials/v2" in json.dumps(
            self.schema.get("$defs", {}).get("context", {})
        )

    @cached_property
    def items(self) -> tuple[TemplateItem, ...]:
        """Top-level members with an `x-idIndex`, in index order."""
        required = set(self.schema.get("required", []))
        items = [
            TemplateItem(
                name=name,
                id_index=int(member["x-idIndex"]),
                id_type=_id_type(member),
                required=name in required,
                labels=Labels.from_json(member["x-labels"]),
            )
            for name, member in self.schema.get("properties", {}).items()
            if "x-idIndex" in member
        ]
        return tuple(sorted(items, key=lambda item: item.id_index))

    def item(self, name: str) -> TemplateItem:
        """The item called `name`."""
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    def describe(self) -> dict[str, Any]:
        """A JSON summary: what `carbonid templates show` prints and the registry serves."""
        return {
            "id": self.id,
            "version": self.version,
            "ref": self.ref,
            "labels": {"zh": self.labels.zh, "en": self.labels.en},
            "description": {"zh": self.description.zh, "en": self.description.en},
            "type": self.jsonld_type,
            "context": self.context_url,
            "industries": list(self.industries),
            "items": [
                {
                    "name": item.name,
                    "idIndex": item.id_index,
                    "idType": item.id_type,
                    "required": item.required,
                    "labels": {"zh": item.labels.zh, "en": item.labels.en},
                }
                for item in self.items
            ],
            "schema": self.schema,
        }


def _id_type(member: Mapping[str, Any]) -> str:
    """The idType of an item: the JSON type, refined by format where it names a kind of string."""
    fmt = member.get("format")
    if fmt in (
        "date",
        "date-time",
        "uri",
        "uscc",
        "handle",
        "handle-prefix",
        "gbt2260-region",
        "gbt4754-industry",
    ):
        return str(fmt)
    if "enum" in member or "const" in member:
        return "enum"
    kind = member.get("type")
    if kind is None and "$ref" in member:
        return "object"
    return str(kind) if isinstance(kind, str) else "string"


class Catalog:
    """All templates, by id and version, and a document loader for their contexts."""

    def __init__(self, templates: list[Template]) -> None:
        self._by_ref = {t.ref: t for t in templates}
        self._by_context = {t.context_url: t for t in templates}
        if len(self._by_ref) != len(templates) or len(self._by_context) != len(templates):
            raise ValueError("two templates share a ref or a context URL")

    def list(self) -> list[Template]:
        """Every template version, sorted by id then version."""
        return sorted(self._by_ref.values(), key=lambda t: (t.id, t.version))

    def get(self, template_id: str, version: int | None = None) -> Template:
        """A template by id and version; the latest version when none is given."""
        if version is not None:
            try:
                return self._by_ref[f"{template_id}/{version}"]
            except KeyError:
                raise TemplateNotFoundError(f"no template {template_id} version {version}") from None
        versions = [t for t in self._by_ref.values() if t.id == template_id]
        if not versions:
            known = ", ".join(sorted({t.id for t in self._by_ref.values()}))
            raise TemplateNotFoundError(f"no template {template_id!r} (known: {known})")
        return max(versions, key=lambda t: t.version)

    def resolve(self, ref: str) -> Template:
        """A template from `id` or `id/version`."""
        template_id, _, version = ref.partition("/")
        if version and not version.isdigit():
            raise TemplateNotFoundError(f"template version must be a number: {ref!r}")
        return self.get(template_id, int(version) if version else None)

    def for_context(self, url: str) -> Template:
        """The template whose context has this URL."""
        try:
            return self._by_context[url]
        except KeyError:
            raise TemplateNotFoundError(f"no template has the context {url}") from None

    def for_document(self, document: Mapping[str, Any]) -> Template:
        """The template a document declares through its @context."""
        contexts = document.get("@context")
        for url in contexts if isinstance(contexts, list) else [contexts]:
            if isinstance(url, str) and url in self._by_context:
                return self._by_context[url]
        raise TemplateNotFoundError("the document's @context names no carbonid template")

    @cached_property
    def contexts(self) -> dict[str, dict[str, Any]]:
        """Every template context, keyed by its canonical URL."""
        return {t.context_url: dict(t.context) for t in self._by_ref.values()}

    @cached_property
    def loader(self) -> OfflineDocumentLoader:
        """The offline document loader: the W3C contexts plus every template context, nothing else."""
        return w3c_loader().extended(self.contexts)


def _load_template(folder: Traversable) -> Template:
    meta = json.loads((folder / "template.json").read_text("utf-8"))
    return Template(
        id=meta["id"],
        version=int(meta["version"]),
        labels=Labels.from_json(meta["labels"]),
        description=Labels.from_json(meta["description"]),
        jsonld_type=meta["jsonldType"],
        context_url=meta["context"],
        industries=tuple(meta.get("industries", [])),
        schema=json.loads((folder / "schema.json").read_text("utf-8")),
        context=json.loads((folder / "context.jsonld").read_text("utf-8")),
        example=json.loads((folder / "example.json").read_text("utf-8"))
        if (folder / "example.json").is_file()
        else None,
    )


@cache
def default_catalog() -> Catalog:
    """The templates bundled with carbonid."""
    root = resources.files("metadata_templates") / "templates"
    templates = [
        _load_template(version)
        for template in sorted(root.iterdir(), key=lambda p: p.name)
        if template.is_dir()
        for version in sorted(template.iterdir(), key=lambda p: p.name)
        if version.is_dir() and (version / "template.json").is_file()
    ]
    return Catalog(templates)
