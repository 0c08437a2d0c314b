"""Carbon records as Handle values: the bridge between `metadata_templates.handle_mapping` and the codec."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from handle_registry.values import DEFAULT_TTL, HandleValue, ValueData, ValueFormat
from metadata_templates.handle_mapping import RecordValue


def handle_values_for_record(
    record: Iterable[RecordValue], *, timestamp: datetime, ttl: int = DEFAULT_TTL
) -> tuple[HandleValue, ...]:
    """String Handle values for a record's values, all stamped with the publication time."""
    return tuple(
        HandleValue(value.index, value.type, ValueData.string(value.value), ttl, timestamp=timestamp)
        for value in record
    )


def record_values_from_handle_values(values: Iterable[HandleValue]) -> tuple[RecordValue, ...]:
    """The record values carried by resolved Handle values (non-string values are not part of a record)."""
    return tuple(
        RecordValue(value.index, value.type, value.data.value)
        for value in values
        if value.data.format is ValueFormat.STRING and isinstance(value.data.value, str)
    )
