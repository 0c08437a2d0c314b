"""Validate a document against its template: JSON Schema 2020-12 plus carbonid's formats.

Errors carry a JSON pointer to the offending member and a readable message. Formats are checked by
our own code (jsonschema only checks `date-time` or `uri` when optional packages are installed, and
would otherwise let anything through silently): dates, RFC 3339 date-times, absolute URIs, e-mail,
the unified social credit code (GB 32100), GB/T 2260 region codes, GB/T 4754-2017 industry codes,
and the syntax of handles and prefixes written inside documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from metadata_templates.catalog import Template
from metadata_templates.codes import CodeError, validate_industry_code, validate_region_code, validate_uscc

# The syntax of a handle written inside a document. The Handle protocol's own parser lives in
# handle_registry.identifiers (a layer above this one); tests/handle_registry keeps the two in agreement.
HANDLE_PREFIX_PATTERN = re.compile(r"^[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)*$")
_SUFFIX_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
MAX_SUFFIX_BYTES = 255


class FormatProblem(ValueError):
    """A string does not have the format its schema names."""


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem: where (JSON pointer) and what."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class TemplateValidationError(ValueError):
    """A document does not satisfy its template; `issues` lists every problem, most specific first."""

    def __init__(self, template: Template, issues: list[ValidationIssue]) -> None:
        self.template = template
        self.issues = issues
        first = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{template.ref}: {first}{more}")

    @property
    def pointer(self) -> str:
        """The JSON pointer of the first problem."""
        return self.issues[0].pointer

    @property
    def reason(self) -> str:
        """The message of the first problem."""
        return self.issues[0].message


def check_handle_prefix(value: str) -> None:
    """Dot-separated segments of ASCII letters, digits, '-' and '_' (e.g. 88.186.1)."""
    if not HANDLE_PREFIX_PATTERN.match(value):
        raise FormatProblem(f"{value!r} is not a handle prefix (dot-separated segments like 88.186.1)")


def check_handle(value: str) -> None:
    """`prefix/suffix`: a valid prefix, a non-empty printable suffix of at most 255 UTF-8 bytes."""
    prefix, slash, suffix = value.partition("/")
    if not slash or not suffix:
        raise FormatProblem(f"{value!r} is not a handle (prefix/suffix, e.g. 88.186.1/CICES.5626)")
    check_handle_prefix(prefix)
    if _SUFFIX_FORBIDDEN.search(suffix):
        raise FormatProblem("handle suffix contains a control character")
    if len(suffix.encode("utf-8")) > MAX_SUFFIX_BYTES:
        raise FormatProblem(f"handle suffix is longer than {MAX_SUFFIX_BYTES} bytes")


def _check_date(value: str) -> None:
    if not _DATE.match(value):
        raise FormatProblem(f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise FormatProblem(f"{value!r} is not a calendar date") from None


def _check_date_time(value: str) -> None:
    if not _DATE_TIME.match(value):
        raise FormatProblem(f"{value!r} is not an RFC 3339 date-time with a time zone")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FormatProblem(f"{value!r} is not a valid date-time") from None


def _check_uri(value: str) -> None:
    if not _ABSOLUTE_URI.match(value):
        raise FormatProblem(f"{value!r} is not an absolute URI")


def _check_email(value: str) -> None:
    if not _EMAIL.match(value):
        raise FormatProblem(f"{value!r} is not an e-mail address")


def _code_check(check: Callable[[str], object]) -> Callable[[str], None]:
    def run(value: str) -> None:
        try:
            check(value)
        except CodeError as exc:
            raise FormatProblem(str(exc)) from None

    return run


FORMAT_CHECKS: Mapping[str, Callable[[str], None]] = {
    "date": _check_date,
    "date-time": _check_date_time,
    "uri": _check_uri,
    "email": _check_email,
    "uscc": _code_check(validate_uscc),
    "gbt2260-region": _code_check(validate_region_code),
    "gbt4754-industry": _code_check(validate_industry_code),
    "handle": check_handle,
    "handle-prefix": check_handle_prefix,
}


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, check in FORMAT_CHECKS.items():
        checker.checks(name, raises=FormatProblem)(_accept_non_strings(check))
    return checker


def _accept_non_strings(check: Callable[[str], None]) -> Callable[[object], bool]:
    # JSON Schema applies `format` to strings only; `type` reports anything else.
    def run(value: object) -> bool:
        if isinstance(value, str):
            check(value)
        return True

    return run


@cache
def _validator(template: Template) -> Draft202012Validator:
    Draft202012Validator.check_schema(template.schema)
    return Draft202012Validator(template.schema, format_checker=_format_checker())


def check_schema(template: Template) -> None:
    """Raise if the template's schema is not a valid JSON Schema 2020-12 (used by tests and tools)."""
    _validator(template)


def validate(template: Template, document: Any) -> None:
    """Raise `TemplateValidationError` unless `document` satisfies `template`."""
    issues = list(_issues(_validator(template).iter_errors(document)))
    if issues:
        raise TemplateValidationError(template, sorted(set(issues), key=lambda i: (i.pointer, i.message)))


def _issues(errors: Iterable[SchemaError]) -> Iterable[ValidationIssue]:
    for error in errors:
        yield from _describe(error)


def _pointer(path: Iterable[Any]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _describe(error: SchemaError) -> Iterable[ValidationIssue]:
    pointer = _pointer(error.absolute_path)
    # Errors from iter_errors always carry these; the stubs also allow an unset sentinel.
    instance: Any = error.instance
    rule: Any = error.validator_value
    schema: Any = error.schema
    match error.validator:
        case "required":
            missing = [name for name in rule if name not in instance]
            for name in missing:
                yield ValidationIssue(f"{pointer}/{name}", "required member is missing")
        case "additionalProperties":
            allowed = set(schema.get("properties", {}))
            for name in instance:
                if name not in allowed:
                    yield ValidationIssue(f"{pointer}/{name}", "member is not part of this template")
        case "format":
            cause = error.cause
            yield ValidationIssue(pointer, str(cause) if cause else f"{instance!r} is not a valid {rule}")
        case "enum":
            choices = ", ".join(map(str, rule))
            yield ValidationIssue(pointer, f"{instance!r} is not one of: {choices}")
        case "const":
            yield ValidationIssue(pointer, f"must be {rule!r}")
        case "anyOf" if all(set(branch) == {"required"} for branch in rule):
            options = " or ".join(branch["required"][0] for branch in rule)
            yield ValidationIssue(pointer, f"needs at least one of: {options}")
        case "anyOf" | "oneOf" if error.context:
            # Report the branch that came closest, rather than "not valid under any schema".
            yield from _describe(min(error.context, key=lambda e: len(list(e.context or []))))
        case _:
            yield ValidationIssue(pointer, error.message)
