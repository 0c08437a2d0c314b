"""Handle values, HS_ADMIN permissions and the `type=` filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from handle_registry.identifiers import parse_handle, parse_prefix
from handle_registry.values import (
    ADMIN_GROUP_INDEX,
    DEFAULT_ADMIN_PERMISSIONS,
    DEFAULT_TTL,
    HS_ADMIN_INDEX,
    HS_SECKEY_INDEX,
    MAX_INDEX,
    SIGNATURE_INDEX_MIN,
    TEMPLATE_FIELD_INDEX_MIN,
    TEMPLATE_INDEX,
    TYPE_HS_ADMIN,
    AdminPermissions,
    AdminValue,
    HandleValue,
    Permission,
    PublicKeyJwk,
    ServerInfo,
    ValueData,
    ValueFormat,
    VListEntry,
    default_admin_value,
    select_values,
    structured_format_for,
    type_matches,
)

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_reserved_indexes() -> None:
    assert (HS_ADMIN_INDEX, ADMIN_GROUP_INDEX, HS_SECKEY_INDEX) == (100, 200, 300)
    assert (SIGNATURE_INDEX_MIN, TEMPLATE_INDEX, TEMPLATE_FIELD_INDEX_MIN) == (400, 1001, 2000)


def test_permission_bits_count_from_the_right() -> None:
    permissions = AdminPermissions.parse("011111110011")
    allowed = {
        Permission.ADD_HANDLE,
        Permission.DELETE_HANDLE,
        Permission.MODIFY_VALUE,
        Permission.REMOVE_VALUE,
        Permission.ADD_VALUE,
        Permission.MODIFY_ADMIN,
        Permission.REMOVE_ADMIN,
        Permission.ADD_ADMIN,
        Permission.READ_VALUE,
    }
    for permission in Permission:
        assert permissions.allows(permission) is (permission in allowed), permission
    assert set(permissions.granted()) == allowed
    assert str(permissions) == "011111110011"
    assert permissions == DEFAULT_ADMIN_PERMISSIONS


@pytest.mark.parametrize(
    ("permission", "text"),
    [
        (Permission.ADD_HANDLE, "000000000001"),
        (Permission.DELETE_HANDLE, "000000000010"),
        (Permission.ADD_DERIVED_PREFIX, "000000000100"),
        (Permission.DELETE_DERIVED_PREFIX, "000000001000"),
        (Permission.MODIFY_VALUE, "000000010000"),
        (Permission.REMOVE_VALUE, "000000100000"),
        (Permission.ADD_VALUE, "000001000000"),
        (Permission.MODIFY_ADMIN, "000010000000"),
        (Permission.REMOVE_ADMIN, "000100000000"),
        (Permission.ADD_ADMIN, "001000000000"),
        (Permission.READ_VALUE, "010000000000"),
        (Permission.LIST_HANDLES, "100000000000"),
    ],
)
def test_each_permission_has_its_own_bit(permission: Permission, text: str) -> None:
    assert str(AdminPermissions.of(permission)) == text
    assert AdminPermissions.parse(text).granted() == (permission,)


def test_permission_strings_round_trip_and_combine() -> None:
    for text in ("000000000000", "111111111111", "100000000001", "011111110011"):
        assert str(AdminPermissions.parse(text)) == text
    both = AdminPermissions.of(Permission.ADD_HANDLE, Permission.LIST_HANDLES)
    assert str(both) == "100000000001"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("01111111001", "exactly 12"),
        ("0111111100111", "exactly 12"),
        ("", "exactly 12"),
        ("01111111001x", "'x' at position 11"),
        (" 11111111001", "' ' at position 0"),
        ("*", "exactly 12"),
        ("0111 1110011", "' ' at position 4"),
    ],
)
def test_bad_permission_strings_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="permissions") as caught:
        AdminPermissions.parse(text)
    assert fragment in str(caught.value)


def test_permission_mask_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.4095"):
        AdminPermissions(4096)


def test_default_admin_value() -> None:
    value = default_admin_value(parse_prefix("88.186.1"), timestamp=T0)
    assert value.index == 100
    assert value.type == "HS_ADMIN"
    assert value.ttl == DEFAULT_TTL == 86400
    assert value.data == ValueData.admin(
        AdminValue(parse_handle("0.NA/88.186.1"), 200, AdminPermissions.parse("011111110011"))
    )
    assert value.has_default_permissions


def test_handle_value_defaults_and_normalisation() -> None:
    local = datetime(2025, 1, 2, 11, 4, 5, 987654, tzinfo=timezone(timedelta(hours=8)))
    value = HandleValue(1, "URL", ValueData.string("https://example.org/"), timestamp=local)
    assert value.timestamp == T0
    assert value.timestamp.tzinfo is UTC
    assert value.flags == (True, True, True, False)
    assert value.permissions_text == "1110"
    assert value.has_default_permissions
    secret = HandleValue(300, "HS_SECKEY", ValueData.string("x"), timestamp=T0, public_read=False)
    assert secret.permissions_text == "1100"
    assert not secret.has_default_permissions


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"index": 0}, r"index must be in 1\.\.2147483647"),
        ({"index": MAX_INDEX + 1}, "index must be in"),
        ({"index": True}, "index must be an integer"),
        ({"type": ""}, "non-empty"),
        ({"type": "UR\x00L"}, "control character"),
        ({"ttl": -1}, "ttl must be in"),
        ({"timestamp": datetime(2025, 1, 2)}, "timezone-aware"),  # the naive datetime is the point
        ({"public_write": 1}, "public_write must be a bool"),
    ],
)
def test_handle_value_refuses_bad_fields(changes: dict[str, object], fragment: str) -> None:
    fields: dict[str, object] = {"index": 1, "type": "URL", "data": ValueData.string("x"), "timestamp": T0}
    fields.update(changes)
    with pytest.raises(ValueError, match=fragment):
        HandleValue(**fields)  # type: ignore[arg-type]


def test_value_data_checks_its_kind() -> None:
    assert ValueData("string", "x").format is ValueFormat.STRING  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format base64 cannot hold a str"):
        ValueData(ValueFormat.BASE64, "aGk=")
    with pytest.raises(ValueError, match="format string cannot hold a bytes"):
        ValueData(ValueFormat.STRING, b"x")
    with pytest.raises(ValueError, match="VListEntry"):
        ValueData(ValueFormat.VLIST, ("88/x",))  # type: ignore[arg-type]
    entries = ValueData.vlist([VListEntry(parse_handle("88/ADMIN"), 300)])
    assert entries.value == (VListEntry(parse_handle("88/admin"), 300),)


def test_jwk_needs_kty_and_string_members() -> None:
    jwk = PublicKeyJwk.from_dict(
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    )
    assert jwk.kty == "OKP"
    assert list(jwk.as_dict()) == ["kty", "crv", "x"]
    with pytest.raises(ValueError, match="kty"):
        PublicKeyJwk((("crv", "Ed25519"),))
    with pytest.raises(ValueError, match="duplicate"):
        PublicKeyJwk((("kty", "OKP"), ("kty", "RSA")))


def test_server_address_must_be_an_ip_address() -> None:
    key = ValueData.base64(b"\x00")
    assert ServerInfo(1, "2001:db8::1", key, ()).address == "2001:db8::1"
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        ServerInfo(1, "node.example", key, ())


@pytest.mark.parametrize(
    ("value_type", "type_filter", "selected"),
    [
        ("URL", "URL", True),
        ("url", "URL", True),
        ("URL", "url", True),
        ("URL.us", "URL", False),
        ("URL.us", "URL.", True),
        ("URL", "URL.", True),  # the family filter also selects the bare type
        ("url.US", "URL.", True),
        ("URL", "URL.jp", False),  # never the parent
        ("URLX", "URL.", False),
        ("HS_SITE.PREFIX", "HS_SITE.", True),
        ("HS_SITE", "HS_SITE.", True),
        ("HS_SITE.PREFIX", "HS_SITE", False),
        ("HS_SITE.PREFIX.X", "HS_SITE.PREFIX.", True),
        ("ÄRGER", "ärger", False),  # only ASCII letters fold
        ("URL", "", False),
    ],
)
def test_type_filter_rule(value_type: str, type_filter: str, selected: bool) -> None:
    assert type_matches(value_type, type_filter) is selected


def test_select_values_by_type_or_index() -> None:
    values = [
        HandleValue(1, "URL", ValueData.string("a"), timestamp=T0),
        HandleValue(2, "URL.alt", ValueData.string("b"), timestamp=T0),
        HandleValue(3, "EMAIL", ValueData.string("c"), timestamp=T0),
        default_admin_value(parse_prefix("88"), timestamp=T0),
    ]
    assert select_values(values) == tuple(values)
    assert [v.index for v in select_values(values, types=["URL"])] == [1]
    assert [v.index for v in select_values(values, types=["url."])] == [1, 2]
    assert [v.index for v in select_values(values, indexes=[100, 3])] == [3, 100]
    assert [v.index for v in select_values(values, types=["EMAIL"], indexes=[1])] == [1, 3]
    assert select_values(values, types=["NOPE"]) == ()
    assert values[0].matches_type("URL.")


def test_structured_formats_follow_the_type() -> None:
    assert structured_format_for(TYPE_HS_ADMIN) is ValueFormat.ADMIN
    assert structured_format_for("hs_admin") is ValueFormat.ADMIN
    assert structured_format_for("HS_ADMIN.x") is None
    assert structured_format_for("HS_VLIST") is ValueFormat.VLIST
    assert structured_format_for("HS_SITE.PREFIX") is ValueFormat.SITE
    assert structured_format_for("HS_NA_DELEGATE") is ValueFormat.SITE
    assert structured_format_for("HS_PUBKEY") is ValueFormat.KEY
    assert structured_format_for("URL") is None
