"""What the fuzz tests share: the running federation's handle, schemathesis settings, and a run of the engine.

Every run is reproducible: a fixed seed, derandomized generation, no example database, no shrinking (a
failure is reported as found; shrinking a slow HTTP case can take minutes). The checks are the contract each
service documents: no 5xx, every status, content type and body as its OpenAPI document says.

The engine is driven directly (as `schemathesis run` drives it) rather than through schemathesis's pytest
plugin, whose lazy schemas do not run on pytest 9.2 (they rename the test node through `_nodeid`).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections import Counter
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import quote

import schemathesis
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.recorder import CheckNode, ScenarioRecorder
from schemathesis.specs.openapi.schemas import OpenApiSchema

from carbonid.federation import Federation, NodeService

T = TypeVar("T")

SEED: Final = int(os.environ.get("CARBONID_FUZZ_SEED", "20250601"))
"""The seed of every run (schemathesis derives one per operation from it)."""

MAX_EXAMPLES: Final = int(os.environ.get("CARBONID_FUZZ_EXAMPLES", "15"))
"""Generated examples per operation and per run (valid and invalid ones)."""

PHASES: Final = frozenset(os.environ.get("CARBONID_FUZZ_PHASES", "examples,fuzzing").split(","))
"""The schemathesis phases run. For a deeper search by hand (e.g. before a release; minutes, not seconds), add
`coverage` (every boundary and every kind of invalid value of every parameter) and `stateful` (sequences of
calls along the links the document implies), with more examples and another seed:
CARBONID_FUZZ_PHASES=examples,coverage,fuzzing,stateful CARBONID_FUZZ_EXAMPLES=50 CARBONID_FUZZ_SEED=11."""

CHECKS: Final = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)

FUZZ_NODE: Final = "parts"
"""The node fuzzed: its activity data are private (granted to the resolver's prefix and 88.136.1)."""

STARTUP_SECONDS: Final = 180.0


def basic(user: str, secret: str) -> str:
    """An `Authorization: Basic` value; the user percent-encoded as Handle clients send `300:<prefix>/ADMIN`."""
    token = base64.b64encode(f"{quote(user, safe='/')}:{secret}".encode()).decode("ascii")
    return f"Basic {token}"


@dataclass
class RunningFederation:
    """The demo federation, served from an event loop in a background thread."""

    federation: Federation
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = STARTUP_SECONDS) -> T:
        """Run `coroutine` on the services' loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def node(self) -> NodeService:
        """The node the node tests fuzz."""
        return next(node for node in self.federation.nodes if node.name == FUZZ_NODE)


def fuzz_config(
    *,
    headers: Mapping[str, str] | None = None,
    tls_verify: Path | None = None,
    client_certificate: tuple[Path, Path] | None = None,
    dictionaries: Mapping[str, list[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    auth: Mapping[str, Mapping[str, str]] | None = None,
    operations: list[dict[str, Any]] | None = None,
) -> schemathesis.Config:
    """The schemathesis configuration of one run: bounded, reproducible, the four response checks only."""
    project: dict[str, Any] = {
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "no-shrink": True,
            "database": "none",
        },
        "phases": {
            phase: {"enabled": phase in PHASES} for phase in ("examples", "coverage", "fuzzing", "stateful")
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "suppress-health-check": ["all"],
        "request-timeout": 30,
    }
    if headers:
        project["headers"] = dict(headers)
    if operations:
        project["operations"] = operations
    if auth:
        project["auth"] = {"openapi": {name: dict(value) for name, value in auth.items()}}
    if tls_verify is not None:
        project["tls-verify"] = str(tls_verify)
    if client_certificate is not None:
        project["request-cert"] = str(client_certificate[0])
        project["request-cert-key"] = str(client_certificate[1])
    if dictionaries:
        project["dictionaries"] = {name: {"values": list(values)} for name, values in dictionaries.items()}
    if parameters:
        project["parameters"] = dict(parameters)
    return schemathesis.Config.from_dict(project)


def load_schema(base_url: str, config: schemathesis.Config, *, verify: Path | None = None) -> OpenApiSchema:
    """The service's own OpenAPI document, fetched from it, set to test that service."""
    schema = schemathesis.openapi.from_url(
        f"{base_url}/openapi.json", config=config, verify=str(verify) if verify else True, timeout=30
    )
    schema.config.update(base_url=base_url)
    return schema


@dataclass
class FuzzReport:
    """What one run of the engine did and found."""

    operations: set[str]
    """Operations (e.g. `GET /api/prefixes`) that at least one test case was sent to."""
    cases: Counter[str]
    """Test cases sent, by operation."""
    statuses: dict[str, Counter[int]]
    """Response statuses, by operation."""
    checks: Counter[str]
    """Checks run, by name (all of `CHECKS`, or the configuration went wrong)."""
    failures: list[str]
    """One readable paragraph per distinct failure: operation, check, status, body, and how to reproduce it."""
    errors: list[str]
    """Errors of the run itself (a document the generator cannot use, a request that could not be sent)."""
    seconds: float

    def summary(self) -> str:
        """A line for the test log."""
        per_operation = sorted(self.cases.values())
        spread = f"{per_operation[0]}..{per_operation[-1]}" if per_operation else "0"
        return (
            f"{len(self.operations)} operations, {sum(per_operation)} cases ({spread} per operation), "
            f"{len(self.failures)} failures, {len(self.errors)} errors in {self.seconds:.1f} s; "
            f"checks run: {dict(sorted(self.checks.items()))}"
        )

    def answered(self, operation: str, status: int) -> bool:
        """Whether `operation` answered `status` at least once."""
        return self.statuses.get(operation, Counter())[status] > 0

    def only_refused(self, operation: str) -> bool:
        """Whether `operation` answered every case 401: the credentials (if any) did not get through.

        404 and 405 do not count: a path the router cannot match and another method (the coverage phase
        sends those) never reach the credentials check."""
        statuses = set(self.statuses.get(operation, Counter())) - {404, 405}
        return statuses == {401}

    def problems(self) -> str:
        """Every failure and error, for the assertion message."""
        return "\n\n".join([*self.failures, *self.errors])


def _failure_text(recorder: ScenarioRecorder, case_id: str, check: CheckNode) -> str:
    info = check.failure_info
    assert info is not None
    failure = info.failure
    try:
        message = failure.message
    except AssertionError:  # schemathesis 4.32 cannot render some schema errors; its title still says what
        message = ""
    interaction = recorder.interactions.get(case_id)
    response = interaction.response if interaction is not None else None
    answer = ""
    if response is not None:
        body = response.content[:300].decode("utf-8", "replace")
        answer = f"\n  answered {response.status_code}: {body}"
    reproduce = info.code_sample if len(info.code_sample) <= 800 else info.code_sample[:800] + " ..."
    case = recorder.cases.get(case_id)
    label = case.value.operation.label if case is not None else recorder.label
    return f"{label}: {check.name}: {failure.title}\n  {message[:600]}{answer}\n  {reproduce}"


def fuzz(schema: OpenApiSchema) -> FuzzReport:
    """Run schemathesis on `schema` as its configuration says and collect what it found."""
    started = time.perf_counter()
    operations: set[str] = set()
    cases: Counter[str] = Counter()
    failures: dict[tuple[str, str, str], str] = {}
    errors: list[str] = []
    statuses: dict[str, Counter[int]] = {}
    checks_run: Counter[str] = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            if event.status == Status.SKIP or not event.recorder.cases:
                continue
            recorder = event.recorder
            # By the operation of each case: a stateful scenario calls several.
            label_of = {case_id: node.value.operation.label for case_id, node in recorder.cases.items()}
            operations.update(label_of.values())
            cases.update(label_of.values())
            for case_id, interaction in recorder.interactions.items():
                if interaction.response is not None and case_id in label_of:
                    statuses.setdefault(label_of[case_id], Counter())[interaction.response.status_code] += 1
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    checks_run[check.name] += 1
                    if check.failure_info is None:
                        continue
                    key = (
                        label_of.get(case_id, recorder.label),
                        check.name,
                        check.failure_info.failure.title,
                    )
                    if key not in failures:
                        failures[key] = _failure_text(recorder, case_id, check)
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    seconds = time.perf_counter() - started
    return FuzzReport(operations, cases, statuses, checks_run, list(failures.values()), errors, seconds)


def documented_operations(schema: OpenApiSchema) -> set[str]:
    """Every operation of the document, labelled as the engine labels them (`GET /api/prefixes`)."""
    return {result.ok().label for result in schema.get_all_operations()}


def assert_as_documented(report: FuzzReport, schema: OpenApiSchema) -> None:
    """Nothing found, every documented operation reached, every check run."""
    assert not report.failures, report.problems()
    assert not report.errors, report.problems()
    assert report.operations == documented_operations(schema)
    assert set(report.checks) == set(CHECKS), report.checks
