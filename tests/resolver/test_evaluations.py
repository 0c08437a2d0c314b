"""Evaluations through a real federation: POST /api/evaluations resolves and verifies the enterprise's records,
accounts, grades and issues a signed, revocable certificate; its page, credential and QR code are served."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import unused_port
from click.testing import CliRunner, Result

from carbonid.evaluate_cli import evaluate_command
from certs.data_integrity import verify_proofs
from certs.errors import VerificationError
from resolver.certificates import ensure_operator
from resolver.keys import CERTIFICATES_KEY
from resolver.status_list import bit_is_set, decode_bits
from tests.resolver.conftest import RESOLVER_PREFIX, Federation, Resolver, basic

OPERATOR = ("auditor", "operator secret for tests")
TABLE = {
    "rows": [
        {"industry": "C32", "region": "000000", "period": "2025", "intensity": 30.0, "source": "test table"},
    ]
}


async def _resolver(federation: Federation, **overrides: Any) -> Resolver:
    resolver = await federation.start_resolver(**overrides)
    authority = resolver.app[CERTIFICATES_KEY]
    await ensure_operator(authority.store, OPERATOR[0], OPERATOR[1], at=datetime(2026, 1, 1, tzinfo=UTC))
    return resolver


async def _publish_enterprise(
    federation: Federation, *, activity: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    node = federation.node1
    await federation.publish(node, "PROFILE", template="enterprise-profile/1")
    await federation.publish(node, "ACT.2025", changes=activity, **kwargs)


async def _evaluate(
    federation: Federation, resolver: Resolver, body: Any, *, auth: bool = True
) -> tuple[int, Any]:
    headers = basic(*OPERATOR) if auth else {}
    async with federation.session.post(
        f"{resolver.url}/api/evaluations", json=body, headers=headers
    ) as response:
        return response.status, await response.json(content_type=None)


async def _get(federation: Federation, url: str, **headers: str) -> tuple[int, str, bytes]:
    async with federation.session.get(url, headers=headers) as response:
        return response.status, response.content_type, await response.read()


def _table(tmp_path) -> Any:
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(TABLE), "utf-8")
    return path


async def test_an_evaluation_issues_a_signed_certificate_with_its_page_credential_and_qr(
    federation, tmp_path
):
    resolver = await _resolver(federation, benchmark_table=_table(tmp_path))
    await _publish_enterprise(federation)
    status, body = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    assert status == 201, body
    handle = body["handle"]
    assert handle == f"{RESOLVER_PREFIX}/CERT.88.186.1.2025"
    credential = body["credential"]
    subject = credential["credentialSubject"]
    assert subject["official"] is True
    assert subject["granularity"] == "year"
    assert subject["benchmark"]["level"] == "published"
    assert subject["benchmark"]["intensity"] == 30.0
    assert subject["grade"] in (1, 2, 3, 4, 5)
    assert subject["efficiencyValue"] == pytest.approx(subject["intensity"] / 30.0, rel=1e-3)
    assert [s["handle"] for s in subject["sources"]] == ["88.186.1/PROFILE", "88.186.1/ACT.2025"]
    assert credential["credentialStatus"]["type"] == "BitstringStatusListEntry"
    # Every line of the report names its factor (or says the document gave its own).
    lines = body["report"]["accounting"]["lines"]
    assert lines
    assert all(
        "factorChoice" in line
        or line["factorKind"] in ("fuel-measured", "enterprise-factor", "stated", "gwp", "zero")
        for line in lines
    )

    # The signature verifies with the resolver's DID document; a tampered credential does not.
    did = resolver.ctx.identity.did
    verify_proofs(credential, did, loader=resolver.ctx.catalog.loader)
    tampered = json.loads(json.dumps(credential))
    tampered["credentialSubject"]["grade"] = 1 if subject["grade"] != 1 else 2
    with pytest.raises(VerificationError):
        verify_proofs(tampered, did, loader=resolver.ctx.catalog.loader)

    # Links use the configured public URL; the test server's port is only known once it runs.
    assert credential["id"].endswith(f"/c/{handle}")
    page = f"{resolver.url}/c/{handle}"
    status, content_type, html = await _get(federation, page)
    assert status == 200
    assert content_type == "text/html"
    assert subject["enterpriseName"] in html.decode("utf-8")
    status, content_type, raw = await _get(federation, page, Accept="application/vc+ld+json")
    assert status == 200
    assert content_type == "application/vc+ld+json"
    assert json.loads(raw) == credential
    status, content_type, png = await _get(federation, f"{page}.png")
    assert status == 200
    assert content_type == "image/png"
    assert png.startswith(b"\x89PNG")
    status, content_type, svg = await _get(federation, f"{page}.svg")
    assert status == 200
    assert content_type == "image/svg+xml"
    assert b"<svg" in svg


async def test_revocation_sets_the_status_list_bit_and_the_page_says_so(federation, tmp_path):
    resolver = await _resolver(federation, benchmark_table=_table(tmp_path))
    await _publish_enterprise(federation)
    _, body = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    entry = body["credential"]["credentialStatus"]
    index = int(entry["statusListIndex"])

    async def bit() -> bool:
        status, _, raw = await _get(federation, f"{resolver.url}/api/status-lists/1")
        assert status == 200
        status_list = json.loads(raw)
        verify_proofs(status_list, resolver.ctx.identity.did, loader=resolver.ctx.catalog.loader)
        return bit_is_set(decode_bits(status_list["credentialSubject"]["encodedList"]), index)

    assert not await bit()
    url = f"{resolver.url}/api/evaluations/{body['handle']}/revoke"
    async with federation.session.post(url, json={"reason": "data corrected"}) as response:
        assert response.status == 401
    async with federation.session.post(
        url, json={"reason": "data corrected"}, headers=basic(*OPERATOR)
    ) as response:
        assert response.status == 204
    assert await bit()
    async with federation.session.post(url, json={"reason": "again"}, headers=basic(*OPERATOR)) as response:
        assert response.status == 409
    _, _, report = await _get(federation, f"{resolver.url}/api/evaluations/{body['handle']}")
    assert json.loads(report)["status"] == "revoked"


async def test_a_re_evaluation_supersedes_the_previous_certificate(federation, tmp_path):
    resolver = await _resolver(federation, benchmark_table=_table(tmp_path))
    await _publish_enterprise(federation)
    _, first = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    status, second = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    assert status == 201
    assert second["handle"] == f"{first['handle']}.2"
    assert second["superseded"] == [first["handle"]]
    _, _, report = await _get(federation, f"{resolver.url}/api/evaluations/{first['handle']}")
    assert json.loads(report)["status"] == "superseded"


async def test_without_a_benchmark_there_is_no_grade_and_the_certificate_says_why(federation):
    resolver = await _resolver(federation)  # no table; a population of one is below the minimum of five
    await _publish_enterprise(federation)
    status, body = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    assert status == 201, body
    subject = body["credential"]["credentialSubject"]
    assert "grade" not in subject
    assert "benchmark" not in subject
    assert "benchmark" in subject["ungradedReason"]


async def test_a_population_benchmark_of_one_enterprise_is_its_own_intensity(federation):
    resolver = await _resolver(federation, benchmark_min_population=1)
    await _publish_enterprise(federation)
    _, body = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    subject = body["credential"]["credentialSubject"]
    assert subject["benchmark"]["population"] == 1
    assert subject["efficiencyValue"] == pytest.approx(1.0)
    assert subject["grade"] == 3


async def test_negative_added_value_is_ungraded_never_a_made_up_grade(federation, tmp_path):
    resolver = await _resolver(federation, benchmark_table=_table(tmp_path))
    await _publish_enterprise(federation, activity={"industrialAddedValue10kCny": -1200})
    status, body = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    assert status == 201, body
    subject = body["credential"]["credentialSubject"]
    assert "grade" not in subject
    assert "intensity" not in subject
    assert "added value" in subject["ungradedReason"]


async def test_private_activity_data_granted_to_the_resolver_is_evaluated(federation, tmp_path):
    resolver = await _resolver(federation, benchmark_table=_table(tmp_path))
    await _publish_enterprise(federation, visibility="private")
    await federation.grant(federation.node1, "88.186.1/ACT.2025", RESOLVER_PREFIX)
    status, body = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    assert status == 201, body


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"prefix": "88.186.1", "period": "2025-13"}, 422, "not a year"),
        ({"prefix": "88.186.1", "period": "25"}, 422, "not a year"),
        ({"prefix": "88.186.1"}, 422, "required"),
        ({"prefix": "88 186", "period": "2025"}, 422, "not a prefix"),
        ({"prefix": "88.186.1", "period": "2025", "extra": 1}, 422, "unknown member"),
        ([1, 2], 422, "JSON object"),
    ],
)
async def test_bad_requests_are_refused_clearly(federation, body, status, words):
    resolver = await _resolver(federation)
    got, answer = await _evaluate(federation, resolver, body)
    assert (got, words in answer["detail"]) == (status, True), answer


async def test_no_credentials_no_evaluation(federation):
    resolver = await _resolver(federation)
    status, answer = await _evaluate(
        federation, resolver, {"prefix": "88.186.1", "period": "2025"}, auth=False
    )
    assert status == 401
    assert answer["type"].endswith("operator-authentication-required")


async def test_no_activity_data_for_the_period_is_refused_and_nothing_is_issued(federation):
    resolver = await _resolver(federation)
    await federation.publish(federation.node1, "PROFILE", template="enterprise-profile/1")
    await federation.publish(
        federation.node1, "ACT.2024-01", changes={"period": "2024-01", "granularity": "month"}
    )
    status, answer = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2024"})
    assert (status, "2024-02" in answer["detail"]) == (422, True), answer
    status, answer = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2023"})
    assert (status, "no activity data for 2023" in answer["detail"]) == (422, True), answer
    async with federation.session.get(f"{resolver.url}/api/evaluations") as response:
        assert (await response.json())["certificates"] == []


async def test_a_month_is_a_trend_not_a_grade(federation, tmp_path):
    resolver = await _resolver(federation, benchmark_table=_table(tmp_path))
    await federation.publish(federation.node1, "PROFILE", template="enterprise-profile/1")
    await federation.publish(
        federation.node1, "ACT.2025-03", changes={"period": "2025-03", "granularity": "month"}
    )
    status, body = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025-03"})
    assert status == 201, body
    subject = body["credential"]["credentialSubject"]
    assert subject["official"] is False
    assert "grade" not in subject
    assert "efficiencyValue" in subject  # the trend against the pro-rated benchmark


async def test_an_unknown_certificate_is_a_404_page_for_browsers_and_problem_json_for_programs(federation):
    resolver = await _resolver(federation)
    status, content_type, _ = await _get(federation, f"{resolver.url}/c/88.100.9/CERT.nothing")
    assert status == 404
    assert content_type == "text/html"
    status, content_type, _ = await _get(
        federation, f"{resolver.url}/c/88.100.9/CERT.nothing", Accept="application/ld+json"
    )
    assert status == 404
    assert content_type == "application/problem+json"


async def _evaluate_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    # The command is synchronous: it runs beside the event loop that serves the federation.
    return await asyncio.to_thread(CliRunner().invoke, evaluate_command, list(args), env=env)


async def test_carbonid_evaluate_prints_the_grade_and_exits_by_outcome(federation, tmp_path):
    resolver = await _resolver(federation, benchmark_table=_table(tmp_path))
    await _publish_enterprise(federation)
    env = {"CARBONID_OPERATOR": OPERATOR[0], "CARBONID_OPERATOR_SECRET": OPERATOR[1]}
    issued = await _evaluate_cli("88.186.1", "--period", "2025", "--resolver", resolver.url, env=env)
    assert issued.exit_code == 0, issued.output
    first = issued.stdout.splitlines()[0]
    assert first.startswith(f"{RESOLVER_PREFIX}/CERT.88.186.1.2025  grade ")
    assert "benchmark B    30 (published" in issued.stdout
    assert "/c/88.100.9/CERT.88.186.1.2025.png" in issued.stdout

    refused = await _evaluate_cli("88.186.1", "--period", "2019", "--resolver", resolver.url, env=env)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: refused: 88.186.1 has no activity data for 2019")
    wrong = await _evaluate_cli(
        "88.186.1",
        "--period",
        "2025",
        "--resolver",
        resolver.url,
        env={**env, "CARBONID_OPERATOR_SECRET": "x"},
    )
    assert wrong.exit_code == 1
    assert "unknown operator or wrong secret" in wrong.stderr
    unreachable = await _evaluate_cli(
        "88.186.1", "--period", "2025", "--resolver", f"http://127.0.0.1:{unused_port()}", env=env
    )
    assert unreachable.exit_code == 2
    assert unreachable.stderr.startswith("error: cannot reach the resolver")


async def test_with_sm2_configured_the_certificate_carries_both_proofs(federation, tmp_path):
    resolver = await _resolver(federation, benchmark_table=_table(tmp_path), sign_sm2=True)
    await _publish_enterprise(federation)
    status, body = await _evaluate(federation, resolver, {"prefix": "88.186.1", "period": "2025"})
    assert status == 201, body
    suites = sorted(proof["cryptosuite"] for proof in body["credential"]["proof"])
    assert suites == ["eddsa-rdfc-2022", "sm2-rdfc-2024"]
    proofs = verify_proofs(body["credential"], resolver.ctx.identity.did, loader=resolver.ctx.catalog.loader)
    assert len(proofs) == 2
