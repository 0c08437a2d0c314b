"""Validation: every kind of bad document is refused with its JSON pointer and a readable message."""

import pytest

from metadata_templates import TemplateValidationError, validate


def refusal(catalog, template_id, mutate):
    template = catalog.get(template_id)
    document = template.example_document()
    mutate(document)
    with pytest.raises(TemplateValidationError) as caught:
        validate(template, document)
    return caught.value


@pytest.mark.parametrize(
    ("uscc", "message"),
    [
        ("91330522MA2B3C4D58", "check digit should be 7"),
        ("91330522MA2B3C4D5", "18 characters"),
        ("91330522MA2B3C4DI7", "position 17"),
    ],
)
def test_invalid_uscc_is_refused_with_its_pointer(catalog, uscc, message):
    error = refusal(catalog, "enterprise-profile", lambda d: d.update(uscc=uscc))
    assert error.pointer == "/uscc"
    assert message in error.reason


@pytest.mark.parametrize(
    ("region", "message"),
    [("339999", "no such"), ("33052", "6 digits"), ("990000", "no such province")],
)
def test_invalid_region_is_refused_with_its_pointer(catalog, region, message):
    error = refusal(catalog, "enterprise-profile", lambda d: d.update(region=region))
    assert error.pointer == "/region"
    assert message in error.reason


@pytest.mark.parametrize(("industry", "message"), [("C99", "no such division"), ("Z3216", ""), ("32", "")])
def test_invalid_industry_is_refused_with_its_pointer(catalog, industry, message):
    if industry == "32":
        # A bare division number is a valid code; prove it, then break the section letter instead.
        template = catalog.get("enterprise-profile")
        document = template.example_document()
        document["industry"] = industry
        validate(template, document)
        return
    error = refusal(catalog, "enterprise-profile", lambda d: d.update(industry=industry))
    assert error.pointer == "/industry"
    assert message in error.reason


def test_invalid_region_deep_inside_a_line_has_its_full_pointer(catalog):
    error = refusal(catalog, "activity-data", lambda d: d["electricity"][0].update(gridRegion="330599"))
    assert error.pointer == "/electricity/0/gridRegion"


def test_all_problems_are_listed_sorted_by_pointer(catalog):
    def break_many(document):
        del document["name"]
        document["region"] = "000000"
        document["surprise"] = True

    error = refusal(catalog, "enterprise-profile", break_many)
    assert [issue.pointer for issue in error.issues] == ["/name", "/region", "/surprise"]
    assert error.issues[0].message == "required member is missing"
    assert error.issues[2].message == "member is not part of this template"
    assert "(and 2 more)" in str(error)


@pytest.mark.parametrize(
    ("template_id", "mutate", "pointer", "message"),
    [
        ("activity-data", lambda d: d.update(period="2025Q1"), "/period", "does not match"),
        ("activity-data", lambda d: d.update(granularity="week"), "/granularity", "not one of"),
        (
            "activity-data",
            lambda d: d["electricity"][1].pop("evidence"),
            "/electricity/1/evidence",
            "missing",
        ),
        ("activity-data", lambda d: d["fuels"][0].update(fuel="other"), "/fuels/0/name", "missing"),
        ("activity-data", lambda d: d["fuels"][0].update(quantity=-1), "/fuels/0/quantity", "minimum"),
        ("activity-data", lambda d: d["fuels"][0].update(unit="barrel"), "/fuels/0/unit", "not one of"),
        (
            "activity-data",
            lambda d: d["heat"][0].pop("enthalpyKjPerKg"),
            "/heat/0/enthalpyKjPerKg",
            "missing",
        ),
        ("activity-data", lambda d: d["offsets"][0].pop("evidence"), "/offsets/0/evidence", "missing"),
        ("activity-data", lambda d: d["fuels"][0].pop("dataSource"), "/fuels/0/dataSource", "missing"),
        ("activity-data", lambda d: d.update(prefix="88..1"), "/prefix", "not a handle prefix"),
        ("activity-data", lambda d: d.update(handle="88.186.1"), "/handle", "not a handle"),
        (
            "activity-data",
            lambda d: d["fuels"][0]["dataSource"].update(collectedAt="2026-01-05 09:00"),
            "/fuels/0/dataSource/collectedAt",
            "RFC 3339",
        ),
        (
            "enterprise-profile",
            lambda d: d.update(registeredOn="2012-02-30"),
            "/registeredOn",
            "calendar date",
        ),
        ("enterprise-profile", lambda d: d.update(website="aluminium.example.com"), "/website", ""),
        ("enterprise-profile", lambda d: d["contact"].update(email="nobody"), "/contact/email", "e-mail"),
        ("enterprise-profile", lambda d: d.update(type="Profile"), "/type", "must be 'EnterpriseProfile'"),
        (
            "enterprise-profile",
            lambda d: d.update({"@context": ["https://schema.org/"]}),
            "/@context/0",
            "must be",
        ),
        (
            "product-footprint",
            lambda d: d["emissionFactorSource"].update(kind="literature"),
            "/emissionFactorSource/literature",
            "missing",
        ),
        (
            "product-footprint",
            lambda d: d["thirdPartyCertification"].update(certified=True),
            "/thirdPartyCertification/body",
            "missing",
        ),
        ("product-footprint", lambda d: d["dataQuality"].update(TiR=6), "/dataQuality/TiR", "maximum"),
        (
            "product-footprint",
            lambda d: d["inventory"]["materials"][0].update(supplierHandle="supplier"),
            "/inventory/materials/0/supplierHandle",
            "not a handle",
        ),
        (
            "carbon-efficiency-certificate",
            lambda d: d["credentialSubject"].update(grade=6),
            "/credentialSubject/grade",
            "maximum",
        ),
        ("carbon-efficiency-certificate", lambda d: d.update(issuer="resolver"), "/issuer", "does not match"),
    ],
)
def test_template_rules(catalog, template_id, mutate, pointer, message):
    error = refusal(catalog, template_id, mutate)
    assert any(issue.pointer == pointer and message in issue.message for issue in error.issues), error.issues


def test_not_an_object(catalog):
    with pytest.raises(TemplateValidationError, match="is not of type 'object'"):
        validate(catalog.get("activity-data"), ["not", "a", "document"])


def test_handle_suffix_byte_limit(catalog):
    template = catalog.get("activity-data")
    document = template.example_document()
    document["handle"] = "88.186.1/" + "碳" * 85  # 255 bytes
    validate(template, document)
    document["handle"] = "88.186.1/" + "碳" * 85 + "x"
    with pytest.raises(TemplateValidationError, match="255 bytes"):
        validate(template, document)
