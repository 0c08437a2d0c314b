"""JSON shapes of the registry's own API (the Handle routes write Handle JSON through the codec)."""

from __future__ import annotations

from typing import Any

from certs.data_integrity import format_datetime
from handle_registry.service.queries import PrefixDetails, PrefixPage
from handle_registry.service.repository import PrefixEntry, PrefixEvent
from metadata_templates import Template


def prefix_href(entry: PrefixEntry) -> str:
    """Where a prefix is read."""
    return f"/api/prefixes/{entry.prefix.text}"


def prefix_summary(entry: PrefixEntry) -> dict[str, Any]:
    """A prefix as listed."""
    return {
        "prefix": entry.prefix.text,
        "kind": entry.kind,
        "status": entry.status,
        "version": entry.version,
        "did": entry.did,
        "serviceUrl": entry.service_url,
        "enterpriseName": entry.enterprise_name,
        "uscc": entry.uscc,
        "region": entry.region,
        "industry": entry.industry,
        "createdAt": format_datetime(entry.created_at),
        "updatedAt": format_datetime(entry.updated_at),
        "href": prefix_href(entry),
    }


def event_json(event: PrefixEvent) -> dict[str, Any]:
    """One history event."""
    return {
        "at": format_datetime(event.at),
        "action": event.action,
        "actor": event.actor,
        "reason": event.reason,
        "version": event.version,
    }


def prefix_details(details: PrefixDetails, *, admin: bool) -> dict[str, Any]:
    """A prefix with its reason, history and current signed record; the application for administrators."""
    body = prefix_summary(details.entry)
    body["statusReason"] = details.entry.status_reason
    body["history"] = [event_json(event) for event in details.events]
    body["record"] = details.record.document if details.record is not None else None
    if admin:
        body["application"] = details.entry.application
    return body


def prefix_page(page: PrefixPage) -> dict[str, Any]:
    """One page of a listing."""
    return {
        "prefixes": [prefix_summary(entry) for entry in page.entries],
        "totalCount": page.total,
        "page": page.page,
        "pageSize": page.page_size,
    }


def application_accepted(entry: PrefixEntry) -> dict[str, Any]:
    """The answer to an application."""
    return {"prefix": entry.prefix.text, "status": entry.status, "href": prefix_href(entry)}


def template_summary(template: Template) -> dict[str, Any]:
    """A template as listed: everything `describe()` says but the schema."""
    return {key: value for key, value in template.describe().items() if key != "schema"}
