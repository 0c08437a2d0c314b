"""Metadata templates as data: JSON Schema + JSON-LD context per template and version, validation,
the offline document loader for their contexts, and the mapping of documents onto handle values.

Pure: no HTTP, no database. Modules: `catalog` (templates and loader), `validation`, `contexts`
(contexts derived from schemas), `handle_mapping`, and `codes` (GB 32100, GB/T 2260, GB/T 4754).
"""

from metadata_templates.catalog import Catalog, Template, TemplateItem, TemplateNotFoundError, default_catalog
from metadata_templates.validation import TemplateValidationError, ValidationIssue, validate

__all__ = [
    "Catalog",
    "Template",
    "TemplateItem",
    "TemplateNotFoundError",
    "TemplateValidationError",
    "ValidationIssue",
    "default_catalog",
    "validate",
]
