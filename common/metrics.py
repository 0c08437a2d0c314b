"""Prometheus metrics: counters, gauges and histograms kept per application, served as text at `/metrics`.

Every service gets, from `common.web.create_service_app`, a :class:`Metrics` registry under
:data:`common.app_keys.METRICS_KEY` and the HTTP metrics every request feeds (count by route template and
status, latency histogram, requests in flight). A service adds its own:

- a counter it increments where the event happens (`metrics.counter(...).inc(reason="key-revoked")`);
- or a *collector*: a function called at scrape time that reads figures the domain objects keep anyway
  (cache hit counts, proof verifications), so the hot path pays nothing for being measured.

Why not `prometheus_client`: its registry is process-global, and tests run several services (and several
instances of one) in one process; this module is ~200 lines of the text format (version 0.0.4) and keeps
one registry per application. Label values are escaped; names are checked once, at registration.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "Counter",
    "Gauge",
    "Histogram",
    "Metrics",
    "Sample",
]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format's media type."""

DEFAULT_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Latency buckets in seconds: a cached resolution takes well under a millisecond, an evaluation seconds."""

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample a collector reports: a labelled value of a metric the collector declared."""

    labels: dict[str, str]
    value: float


@dataclass(slots=True)
class _Metric:
    name: str
    help: str
    labels: tuple[str, ...]

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if len(labels) != len(self.labels) or not all(name in labels for name in self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {tuple(labels)}")
        return tuple(str(labels[name]) for name in self.labels)


@dataclass(slots=True)
class _Valued(_Metric):
    """One value per label set, rendered as `kind`."""

    values: dict[LabelValues, float] = field(default_factory=dict)
    kind = "untyped"

    def _add(self, amount: float, labels: dict[str, str]) -> None:
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def render(self) -> Iterable[str]:
        """Text-format lines."""
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for key, value in sorted(self.values.items()):
            yield f"{self.name}{_format_labels(self.labels, key)} {_format_value(value)}"


@dataclass(slots=True)
class Counter(_Valued):
    """A value that only goes up, per label set."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` (≥ 0) to the counter of these labels."""
        if amount < 0:
            raise ValueError("a counter never goes down")
        self._add(amount, labels)


@dataclass(slots=True)
class Gauge(_Valued):
    """A value that goes up and down, per label set."""

    kind = "gauge"

    def add(self, amount: float, **labels: str) -> None:
        """Add `amount` (may be negative)."""
        self._add(amount, labels)

    def set(self, value: float, **labels: str) -> None:
        """Set the value for these labels."""
        self.values[self._key(labels)] = value


@dataclass(slots=True)
class _Series:
    counts: list[int]
    total: float = 0.0
    count: int = 0


@dataclass(slots=True)
class Histogram(_Metric):
    """Observations counted into cumulative buckets (upper bounds in `buckets`, plus +Inf), with sum and count."""

    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    series: dict[LabelValues, _Series] = field(default_factory=dict)

    def observe(self, value: float, *labels: str) -> None:
        """Count `value` for the label values given positionally, in the order of `labels` (hot path)."""
        series = self.series.get(labels)
        if series is None:
            if len(labels) != len(self.labels):
                raise ValueError(f"{self.name} takes labels {self.labels}, got {labels}")
            series = self.series[labels] = _Series([0] * (len(self.buckets) + 1))
        series.counts[bisect_left(self.buckets, value)] += 1
        series.total += value
        series.count += 1

    def render(self) -> Iterable[str]:
        """Text-format lines: `_bucket` (cumulative, `le`), `_sum`, `_count`."""
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        bounds = [_format_value(bound) for bound in self.buckets] + ["+Inf"]
        for key, series in sorted(self.series.items()):
            cumulative = 0
            for bound, count in zip(bounds, series.counts, strict=True):
                cumulative += count
                labels = _format_labels(self.labels, key, 'le="' + bound + '"')
                yield f"{self.name}_bucket{labels} {cumulative}"
            yield f"{self.name}_sum{_format_labels(self.labels, key)} {_format_value(series.total)}"
            yield f"{self.name}_count{_format_labels(self.labels, key)} {series.count}"


@dataclass(slots=True)
class _Collected:
    name: str
    help: str
    kind: str
    collect: Callable[[], Iterable[Sample]]

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for sample in self.collect():
            names = tuple(sample.labels)
            values = tuple(str(v) for v in sample.labels.values())
            yield f"{self.name}{_format_labels(names, values)} {_format_value(float(sample.value))}"


class Metrics:
    """One application's metrics, rendered together in the text format."""

    def __init__(self, namespace: str = "carbonid") -> None:
        self.namespace = namespace
        self._metrics: dict[str, Counter | Gauge | Histogram | _Collected] = {}

    def _name(self, name: str) -> str:
        full = f"{self.namespace}_{name}" if self.namespace else name
        if not _NAME.fullmatch(full):
            raise ValueError(f"{full!r} is not a metric name")
        return full

    def _register(self, metric: Counter | Gauge | Histogram | _Collected) -> None:
        known = self._metrics.get(metric.name)
        if known is not None:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric

    @staticmethod
    def _labels(labels: Sequence[str]) -> tuple[str, ...]:
        for label in labels:
            if not _LABEL.fullmatch(label) or label == "le":
                raise ValueError(f"{label!r} is not a label name")
        return tuple(labels)

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        """Register and return a counter named `<namespace>_<name>` (end counter names in `_total`)."""
        metric = Counter(self._name(name), help, self._labels(labels))
        self._register(metric)
        return metric

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        """Register and return a gauge."""
        metric = Gauge(self._name(name), help, self._labels(labels))
        self._register(metric)
        return metric

    def histogram(
        self, name: str, help: str, labels: Sequence[str] = (), buckets: Sequence[float] = DEFAULT_BUCKETS
    ) -> Histogram:
        """Register and return a histogram with these bucket upper bounds (ascending)."""
        bounds = tuple(float(b) for b in buckets)
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError("histogram buckets must be distinct and ascending")
        metric = Histogram(self._name(name), help, self._labels(labels), bounds)
        self._register(metric)
        return metric

    def collector(
        self, name: str, help: str, collect: Callable[[], Iterable[Sample]], *, kind: str = "counter"
    ) -> None:
        """Register a metric whose samples `collect` reports at scrape time (`kind`: counter or gauge)."""
        if kind not in ("counter", "gauge"):
            raise ValueError("a collector reports a counter or a gauge")
        self._register(_Collected(self._name(name), help, kind, collect))

    def render(self) -> str:
        """Every metric in the Prometheus text format, ending with a newline."""
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
