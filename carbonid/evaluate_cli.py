"""`carbonid evaluate PREFIX --period 2025`: ask a resolver to evaluate an enterprise and issue its certificate.

Exit codes: 0 a certificate was issued (graded or, said plainly, ungraded); 1 the resolver refused (no
activity data for the period, records that do not verify, data that cannot be accounted for, wrong
operator credentials); 2 the resolver (or a node it needs) cannot be reached, or the usage is wrong.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Final

import click

from carbonid.cli_support import EXIT_INVALID, EXIT_USAGE, fail
from carbonid.resolver_cli import CA_OPTION, JSON_OPTION, RESOLVER_OPTION, ask_resolver

OPERATOR_VARIABLE: Final = "CARBONID_OPERATOR"
SECRET_VARIABLE: Final = "CARBONID_OPERATOR_SECRET"  # noqa: S105 - the name of a variable


def _print_certificate(body: dict[str, Any]) -> None:
    subject = body["credential"]["credentialSubject"]
    grade = subject.get("grade")
    verdict = (
        f"grade {grade} ({subject.get('gradeColour')})"
        + (" provisional" if subject.get("provisional") else "")
        if grade is not None
        else f"ungraded: {subject.get('ungradedReason', 'no grade')}"
    )
    click.echo(f"{body['handle']}  {verdict}")
    click.echo(
        f"  enterprise     {subject['enterpriseName']} ({subject['prefix']}, {subject['region']}, {subject['industry']})"
    )
    click.echo(f"  period         {subject['period']} ({subject['granularity']})")
    click.echo(
        f"  emissions      {subject['emissionsTCo2']} tCO2 gross, {subject.get('netEmissionsTCo2')} tCO2 net"
    )
    click.echo(f"  added value    {subject['addedValue10kCny']} x 10^4 CNY")
    if "intensity" in subject:
        click.echo(
            f"  intensity L    {subject['intensity']} tCO2 / 10^4 CNY ({subject.get('absoluteLevel')})"
        )
    benchmark = subject.get("benchmark")
    if benchmark:
        click.echo(
            f"  benchmark B    {benchmark['intensity']} ({benchmark['level']}"
            + (f", {benchmark['region']}" if benchmark.get("region") else "")
            + (f", n={benchmark['population']}" if benchmark.get("population") is not None else "")
            + ")"
        )
    if "efficiencyValue" in subject:
        uncertainty = subject.get("uncertainty", {})
        interval = uncertainty.get("efficiencyValueInterval")
        click.echo(
            f"  K = L / B      {subject['efficiencyValue']}"
            + (f"  95 % [{interval[0]}, {interval[1]}]" if interval else "")
        )
    for warning in subject.get("dataQuality", {}).get("warnings", []):
        click.echo(f"  warning        {warning}")
    click.echo(f"  certificate    {body['certificate']}")
    click.echo(f"  QR code        {body['qrPng']}")
    for handle in body.get("superseded", []):
        click.echo(f"  supersedes     {handle}")


@click.command("evaluate", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("prefix")
@click.option(
    "--period", required=True, help="2025 (a year: official grade), 2025H1, 2025Q1 or 2025-03 (trends)."
)
@click.option(
    "--rolling", is_flag=True, help="The 12 months ending with --period (a month, e.g. 2025-06): official."
)
@RESOLVER_OPTION
@click.option(
    "--operator",
    envvar=OPERATOR_VARIABLE,
    required=True,
    help=f"Operator name (also from {OPERATOR_VARIABLE}).",
)
@click.option(
    "--secret",
    envvar=SECRET_VARIABLE,
    prompt=True,
    hide_input=True,
    help=f"Operator secret (from {SECRET_VARIABLE}, or asked for).",
)
@JSON_OPTION
@CA_OPTION
def evaluate_command(
    prefix: str,
    period: str,
    rolling: bool,
    resolver_url: str,
    operator: str,
    secret: str,
    as_json: bool,
    ca: Path | None,
) -> None:
    """Evaluate the enterprise PREFIX over --period and issue its carbon-efficiency certificate."""
    import json

    token = base64.b64encode(f"{operator}:{secret}".encode()).decode("ascii")
    status, body = ask_resolver(
        resolver_url,
        "/api/evaluations",
        ca,
        body={"prefix": prefix, "period": period, "rolling": rolling},
        headers={"Authorization": f"Basic {token}"},
    )
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    if status == 201:
        if not as_json:
            _print_certificate(body)
        return
    detail = body.get("detail") or body.get("title") or f"HTTP {status}"
    if status in (401, 422, 409, 404):
        fail(f"refused: {detail}", EXIT_INVALID)
    fail(f"no certificate now (HTTP {status}): {detail}", EXIT_USAGE)
