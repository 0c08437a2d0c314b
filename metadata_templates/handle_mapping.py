"""A signed document as handle values, following the industrial-internet identifier convention.

One resolution returns everything:

- index 1001, type `TEMPLATE`: the template reference `<id>/<version>`;
- index 2000 and up: one value per top-level member the template gives an `x-idIndex`, typed by the
  member's name (strings verbatim, anything else as compact JSON);
- index 400, type `DOCUMENT`: the complete signed JSON-LD document;
- index 401 and up, type `PROOF`: each Data Integrity proof on its own, where signatures live.

The values are plain data here (this layer knows nothing of the Handle codec); `handle_registry`
turns them into Handle values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from metadata_templates.catalog import Catalog, Template

TEMPLATE_INDEX = 1001
TEMPLATE_TYPE = "TEMPLATE"
DOCUMENT_INDEX = 400
DOCUMENT_TYPE = "DOCUMENT"
PROOF_TYPE = "PROOF"


class MappingError(ValueError):
    """Handle values do not form a carbonid record."""


@dataclass(frozen=True, slots=True)
class RecordValue:
    """One value of a record: index, type and its string data."""

    index: int
    type: str
    value: str


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def document_to_values(template: Template, document: Mapping[str, Any]) -> tuple[RecordValue, ...]:
    """The handle values of a (signed) document of `template`, in index order."""
    values = [RecordValue(TEMPLATE_INDEX, TEMPLATE_TYPE, template.ref)]
    for item in template.items:
        if item.name in document:
            member = document[item.name]
            values.append(
                RecordValue(item.id_index, item.name, member if isinstance(member, str) else _json(member))
            )
    values.append(RecordValue(DOCUMENT_INDEX, DOCUMENT_TYPE, _json(dict(document))))
    proofs = document.get("proof")
    for offset, proof in enumerate(
        proofs if isinstance(proofs, list) else [proofs] if proofs else [], start=1
    ):
        values.append(RecordValue(DOCUMENT_INDEX + offset, PROOF_TYPE, _json(proof)))
    return tuple(sorted(values, key=lambda v: v.index))


def values_to_document(catalog: Catalog, values: Iterable[RecordValue]) -> tuple[Template, dict[str, Any]]:
    """The template and signed document carried by a record's values.

    The document comes from index 400; the field values at 2000+ are checked against it, so a record
    whose per-field values disagree with its signed document is refused rather than half-believed.
    """
    by_index = {v.index: v for v in values}
    template_value = by_index.get(TEMPLATE_INDEX)
    if template_value is None or template_value.type != TEMPLATE_TYPE:
        raise MappingError(f"record has no {TEMPLATE_TYPE} value at index {TEMPLATE_INDEX}")
    document_value = by_index.get(DOCUMENT_INDEX)
    if document_value is None or document_value.type != DOCUMENT_TYPE:
        raise MappingError(f"record has no {DOCUMENT_TYPE} value at index {DOCUMENT_INDEX}")
    template = catalog.resolve(template_value.value)
    try:
        document = json.loads(document_value.value)
    except ValueError as exc:
        raise MappingError(f"index {DOCUMENT_INDEX} does not hold JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MappingError(f"index {DOCUMENT_INDEX} does not hold a JSON object")
    expected = {v.index: v for v in document_to_values(template, document)}
    for index, value in by_index.items():
        if index in expected and expected[index] != value:
            raise MappingError(f"value at index {index} ({value.type}) disagrees with the signed document")
    return template, document
