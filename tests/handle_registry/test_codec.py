"""The Handle REST JSON codec: golden output, lenient input, precise refusals, HTTP statuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handle_registry import response_codes
from handle_registry.codec import (
    CodecError,
    Json,
    decode_put_body,
    decode_resolution,
    decode_value,
    dumps,
    encode_error,
    encode_handle_list,
    encode_resolution,
    encode_success,
    encode_value,
    encode_values_not_found,
    format_timestamp,
    looks_like_binary,
    parse_json,
    parse_timestamp,
    served_data,
)
from handle_registry.identifiers import MAX_SUFFIX_BYTES, Prefix, parse_handle
from handle_registry.response_codes import ResponseCode, default_message, http_status_for
from handle_registry.values import (
    MAX_INDEX,
    MAX_TTL,
    AdminPermissions,
    AdminValue,
    HandleValue,
    PublicKeyJwk,
    ServerInfo,
    ServerInterface,
    SiteAttribute,
    SiteInfo,
    ValueData,
    ValueFormat,
    VListEntry,
    default_admin_value,
)

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
T1 = datetime(2026, 6, 7, 8, 9, 10, tzinfo=UTC)


def clock() -> datetime:
    return T1


def record() -> list[HandleValue]:
    prefix = Prefix("88.186.1")
    return [
        HandleValue(1, "URL", ValueData.string("https://node.example/88.186.1/CICES.5626"), timestamp=T0),
        HandleValue(2, "CHECKSUM", ValueData.base64(b"\x00\x01\xfe\xff"), 3600, timestamp=T0),
        HandleValue(3, "BLOB", ValueData.hex(b"\xca\xfe"), timestamp=T0),
        default_admin_value(prefix, timestamp=T0),
        HandleValue(
            200,
            "HS_VLIST",
            ValueData.vlist(
                [VListEntry(prefix.admin_handle, 300), VListEntry(parse_handle("0.NA/88.186"), 300)]
            ),
            timestamp=T0,
        ),
    ]


GOLDEN_RESOLUTION = (
    '{"responseCode":1,"handle":"88.186.1/cices.5626","values":['
    '{"index":1,"type":"URL","data":{"format":"string","value":"https://node.example/88.186.1/CICES.5626"},'
    '"ttl":86400,"timestamp":"2025-01-02T03:04:05Z"},'
    '{"index":2,"type":"CHECKSUM","data":{"format":"base64","value":"AAH+/w=="},'
    '"ttl":3600,"timestamp":"2025-01-02T03:04:05Z"},'
    '{"index":3,"type":"BLOB","data":{"format":"hex","value":"cafe"},'
    '"ttl":86400,"timestamp":"2025-01-02T03:04:05Z"},'
    '{"index":100,"type":"HS_ADMIN","data":{"format":"admin",'
    '"value":{"handle":"0.NA/88.186.1","index":200,"permissions":"011111110011"}},'
    '"ttl":86400,"timestamp":"2025-01-02T03:04:05Z"},'
    '{"index":200,"type":"HS_VLIST","data":{"format":"vlist",'
    '"value":[{"handle":"88.186.1/ADMIN","index":300},{"handle":"0.NA/88.186","index":300}]},'
    '"ttl":86400,"timestamp":"2025-01-02T03:04:05Z"}]}'
)


def test_golden_resolution_response() -> None:
    document = encode_resolution("88.186.1/cices.5626", record())
    assert dumps(document) == GOLDEN_RESOLUTION
    # Key order is part of the contract, not only the JSON value.
    assert list(document) == ["responseCode", "handle", "values"]
    assert isinstance(document["values"], list)
    for value in document["values"]:
        assert isinstance(value, dict)
        assert list(value) == ["index", "type", "data", "ttl", "timestamp"]
        assert isinstance(value["data"], dict)
        assert list(value["data"]) == ["format", "value"]


def test_the_handle_is_echoed_as_requested_not_as_stored() -> None:
    handle = parse_handle("88.186.1/CICES.5626")
    assert encode_resolution("88.186.1/cices.5626", [])["handle"] == "88.186.1/cices.5626"
    assert encode_resolution(handle, [])["handle"] == "88.186.1/CICES.5626"


def test_golden_error_and_write_bodies() -> None:
    assert (
        dumps(encode_error(response_codes.HANDLE_NOT_FOUND, "Handle not found", handle="88.186.1/nope"))
        == '{"responseCode":100,"handle":"88.186.1/nope","message":"Handle not found"}'
    )
    assert dumps(encode_error(4, "Invalid JSON in PUT request")) == (
        '{"responseCode":4,"message":"Invalid JSON in PUT request"}'
    )
    assert dumps(encode_success("88.186.1/X")) == '{"responseCode":1,"handle":"88.186.1/X"}'
    assert (
        dumps(encode_values_not_found("88.186.1/X"))
        == '{"responseCode":200,"handle":"88.186.1/X","values":[]}'
    )


def test_golden_list_bodies_have_a_string_total_count() -> None:
    paged = encode_handle_list(
        "88.186.1", ["88.186.1/A", parse_handle("88.186.1/b")], 12, page=0, page_size=2
    )
    assert dumps(paged) == (
        '{"responseCode":1,"prefix":"88.186.1","totalCount":"12","page":0,"pageSize":2,'
        '"handles":["88.186.1/A","88.186.1/b"]}'
    )
    assert dumps(encode_handle_list("0.NA/88", [], 0)) == (
        '{"responseCode":1,"prefix":"0.NA/88","totalCount":"0","handles":[]}'
    )


def test_permissions_appear_only_when_asked_and_unusual() -> None:
    secret = HandleValue(300, "HS_SECKEY", ValueData.string("s3cret"), timestamp=T0, public_read=False)
    assert "permissions" not in encode_value(secret)
    shown = encode_value(secret, with_permissions=True)
    assert list(shown) == ["index", "type", "data", "permissions", "ttl", "timestamp"]
    assert shown["permissions"] == "1100"
    ordinary = HandleValue(1, "URL", ValueData.string("x"), timestamp=T0)
    assert "permissions" not in encode_value(ordinary, with_permissions=True)


SITE_VALUE = (
    '{"index":1,"type":"HS_SITE","data":{"format":"site","value":{"version":1,"protocolVersion":"2.10",'
    '"serialNumber":3,"primarySite":true,"multiPrimary":false,'
    '"attributes":[{"name":"desc","value":"carbonid registry"}],'
    '"servers":[{"serverId":1,"address":"127.0.0.1",'
    '"publicKey":{"format":"key","value":{"kty":"OKP","crv":"Ed25519","x":"AAEC"}},'
    '"interfaces":[{"query":true,"admin":true,"protocol":"TCP","port":2641},'
    '{"query":true,"admin":false,"protocol":"UDP","port":2641},'
    '{"query":true,"admin":true,"protocol":"HTTPS","port":8000}]},'
    '{"serverId":2,"address":"::1","publicKey":{"format":"base64","value":"AAE="},"interfaces":[]}]}},'
    '"ttl":86400,"timestamp":"2025-01-02T03:04:05Z"}'
)
KEY_VALUE = (
    '{"index":300,"type":"HS_PUBKEY","data":{"format":"key","value":{"kty":"RSA","n":"u1SU1LfVLPHCozMxH2Mo","e":"AQAB"}},'
    '"ttl":86400,"timestamp":"2025-01-02T03:04:05Z"}'
)


@pytest.mark.parametrize("text", [SITE_VALUE, KEY_VALUE])
def test_site_and_key_values_round_trip_byte_for_byte(text: str) -> None:
    value = decode_value(parse_json(text))
    assert dumps(encode_value(value)) == text


def test_site_values_decode_to_the_model() -> None:
    site = decode_value(parse_json(SITE_VALUE)).data.value
    assert isinstance(site, SiteInfo)
    assert (site.protocol_version, site.serial_number, site.primary_site) == ("2.10", 3, True)
    assert site.attributes == (SiteAttribute("desc", "carbonid registry"),)
    assert site.servers[0].public_key.format is ValueFormat.KEY
    assert site.servers[0].interfaces[2] == ServerInterface(True, True, "HTTPS", 8000)
    assert site.servers[1].public_key == ValueData.base64(b"\x00\x01")


# ------------------------------------------------------------------------------------------- lenient


def test_bare_string_data_string_index_and_defaults() -> None:
    body = decode_put_body(
        parse_json('[{"index":"1","type":"URL","data":"https://a.example/"}]'), clock=clock
    )
    assert body.values == (HandleValue(1, "URL", ValueData.string("https://a.example/"), timestamp=T1),)
    assert body.handle is None


def test_single_value_body_and_values_object_body() -> None:
    single = decode_put_body(parse_json('{"index":1,"type":"URL","data":"x","ttl":"60"}'), clock=clock)
    assert single.values == (HandleValue(1, "URL", ValueData.string("x"), 60, timestamp=T1),)
    wrapped = decode_put_body(
        parse_json('{"handle":"88/X","extra":true,"values":[{"index":1,"type":"URL","data":"x"}]}'),
        clock=clock,
    )
    assert wrapped.handle == "88/X"
    assert wrapped.values == (HandleValue(1, "URL", ValueData.string("x"), timestamp=T1),)
    assert decode_put_body(parse_json('{"values":[]}')).values == ()


def test_pyhandle_register_body_is_understood() -> None:
    # What pyhandle's register_handle_kv sends: admin index as a string, no ttl, no timestamp.
    body: Json = {
        "values": [
            {
                "index": 100,
                "type": "HS_ADMIN",
                "data": {
                    "value": {"index": "200", "handle": "0.NA/88.186.1", "permissions": "011111110011"},
                    "format": "admin",
                },
            },
            {"index": 1, "type": "URL", "data": "https://example.org/"},
            {"index": 2, "type": "CHECKSUM", "data": "abc", "ttl": 86400},
        ]
    }
    values = decode_put_body(body, clock=clock).values
    assert values[0] == default_admin_value(Prefix("88.186.1"), timestamp=T1)
    assert [value.index for value in values] == [100, 1, 2]


@pytest.mark.parametrize(
    "data",
    [
        {"value": {"handle": "0.NA/88.186.1", "index": 200, "permissions": "011111110011"}},
        {"handle": "0.NA/88.186.1", "index": 200, "permissions": "011111110011"},
        {
            "format": "ADMIN",
            "value": {"handle": "0.NA/88.186.1", "index": 200, "permissions": "011111110011"},
        },
    ],
)
def test_admin_data_without_or_with_odd_format(data: dict[str, object]) -> None:
    value = decode_value({"index": 100, "type": "HS_ADMIN", "data": data}, clock=clock)  # type: ignore[dict-item]
    assert value.data == ValueData.admin(
        AdminValue(parse_handle("0.NA/88.186.1"), 200, AdminPermissions.parse("011111110011"))
    )


def test_formats_are_case_insensitive_and_unknown_members_ignored() -> None:
    value = decode_value(
        {
            "index": 5,
            "type": "BLOB",
            "data": {"format": "HEX", "value": "CAFE"},
            "references": [{"handle": "88/X", "index": 1}],
        },
        clock=clock,
    )
    assert value.data == ValueData.hex(b"\xca\xfe")
    assert decode_value({"index": 1, "type": "X", "data": {"value": "plain"}}, clock=clock).data == (
        ValueData.string("plain")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-02T03:04:05Z", T0),
        ("2025-01-02T03:04:05.999Z", T0),
        ("2025-01-02T11:04:05+08:00", T0),
        ("2025-01-02T03:04:05", T0),  # no zone: UTC, as the server reads it
    ],
)
def test_timestamps_are_read_leniently(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected
    value = decode_value({"index": 1, "type": "URL", "data": "x", "timestamp": text})
    assert value.timestamp == expected


def test_timestamps_are_written_strictly() -> None:
    assert format_timestamp(T0) == "2025-01-02T03:04:05Z"
    assert format_timestamp(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2025, 1, 1))  # the naive datetime is the point


# ------------------------------------------------------------------------------------------- strict


@pytest.mark.parametrize(
    ("body", "pointer", "fragment"),
    [
        (
            '{"values":[{"index":1,"type":"URL","data":"a"},{"index":2,"type":"URL","data":"b"},'
            '{"index":0,"type":"URL","data":"c"}]}',
            "/values/2/index",
            "index must be in 1..2147483647, got 0",
        ),
        ('{"values":[{"index":"abc","type":"URL","data":"a"}]}', "/values/0/index", "got the string 'abc'"),
        ('{"values":[{"index":1.5,"type":"URL","data":"a"}]}', "/values/0/index", "got the number 1.5"),
        ('{"values":[{"index":true,"type":"URL","data":"a"}]}', "/values/0/index", "got a boolean"),
        ('{"values":[{"index":2147483648,"type":"URL","data":"a"}]}', "/values/0/index", "got 2147483648"),
        (
            '{"values":[{"index":7,"type":"URL","data":"a"},{"index":"7","type":"EMAIL","data":"b"}]}',
            "/values/1/index",
            "index 7 appears twice (first at /values/0)",
        ),
        ('{"values":[{"index":1,"data":"a"}]}', "/values/0", "member 'type' is missing"),
        ('{"values":[{"index":1,"type":"","data":"a"}]}', "/values/0/type", "type must not be empty"),
        ('{"values":[{"index":1,"type":"URL"}]}', "/values/0", "member 'data' is missing"),
        ('{"values":[{"index":1,"type":"URL","data":5}]}', "/values/0/data", "data must be an object"),
        (
            '{"values":[{"index":1,"type":"URL","data":{"format":"xml","value":"a"}}]}',
            "/values/0/data/format",
            "unknown format 'xml'",
        ),
        (
            '{"values":[{"index":1,"type":"URL","data":{"value":[1]}}]}',
            "/values/0/data",
            "member 'format' is missing",
        ),
        (
            '{"values":[{"index":1,"type":"URL","data":{"format":"base64","value":"!!"}}]}',
            "/values/0/data/value",
            "not valid base64",
        ),
        (
            '{"values":[{"index":1,"type":"URL","data":{"format":"hex","value":"abc"}}]}',
            "/values/0/data/value",
            "even number of hex digits",
        ),
        (
            '{"values":[{"index":1,"type":"URL","data":{"format":"string","value":3}}]}',
            "/values/0/data/value",
            "string data must be a string",
        ),
        (
            '{"values":[{"index":100,"type":"HS_ADMIN","data":{"format":"admin",'
            '"value":{"handle":"0.NA/88","index":200,"permissions":"0111"}}}]}',
            "/values/0/data/value/permissions",
            "exactly 12",
        ),
        (
            '{"values":[{"index":100,"type":"HS_ADMIN","data":{"format":"admin",'
            '"value":{"handle":"no-slash","index":200,"permissions":"011111110011"}}}]}',
            "/values/0/data/value/handle",
            "has no '/'",
        ),
        (
            '{"values":[{"index":100,"type":"HS_ADMIN","data":{"format":"admin",'
            '"value":{"handle":"0.NA/88","index":200}}}]}',
            "/values/0/data/value",
            "member 'permissions' is missing",
        ),
        (
            '{"values":[{"index":1,"type":"URL","data":{"format":"admin",'
            '"value":{"handle":"0.NA/88","index":200,"permissions":"011111110011"}}}]}',
            "/values/0/data/format",
            "format 'admin' does not fit type 'URL'",
        ),
        (
            '{"values":[{"index":200,"type":"HS_VLIST","data":{"format":"vlist",'
            '"value":[{"handle":"88/A","index":300},{"handle":"88/B"}]}}]}',
            "/values/0/data/value/1",
            "member 'index' is missing",
        ),
        (
            '{"values":[{"index":300,"type":"HS_PUBKEY","data":{"format":"key","value":{"kty":"RSA","e":65537}}}]}',
            "/values/0/data/value/e",
            "JWK member must be a string",
        ),
        (
            '{"values":[{"index":300,"type":"HS_PUBKEY","data":{"format":"key","value":{"n":"AA"}}}]}',
            "/values/0/data/value",
            "kty",
        ),
        (
            '{"values":[{"index":1,"type":"URL","data":"a","ttl":"2030-01-01T00:00:00Z"}]}',
            "/values/0/ttl",
            "absolute TTLs",
        ),
        ('{"values":[{"index":1,"type":"URL","data":"a","ttl":-5}]}', "/values/0/ttl", "ttl must be in"),
        (
            '{"values":[{"index":1,"type":"URL","data":"a","timestamp":"yesterday"}]}',
            "/values/0/timestamp",
            "timestamp must look like 2025-01-02T03:04:05Z",
        ),
        (
            '{"values":[{"index":1,"type":"URL","data":"a","timestamp":"2025-02-30T00:00:00Z"}]}',
            "/values/0/timestamp",
            "not a valid date",
        ),
        (
            '{"values":[{"index":1,"type":"URL","data":"a","permissions":"11"}]}',
            "/values/0/permissions",
            "4 '0'/'1' characters",
        ),
        ('{"values":{}}', "/values", "values must be an array, got an object"),
        ('{"values":[{"index":1,"type":"URL","data":"a"}],"handle":5}', "/handle", "handle must be a string"),
        ('[{"index":1,"type":"URL"}]', "/0", "member 'data' is missing"),
        (
            '[{"index":1,"type":"URL","data":"a"}, 7]',
            "/1",
            "a handle value must be an object, got the number 7",
        ),
        ('{"index":1,"type":"URL","data":5}', "/data", "data must be an object"),
        ('{"index":1,"type":"URL"}', "", "body must be"),
        ('"just a string"', "", "got a string"),
        ("null", "", "got null"),
    ],
)
def test_refusals_name_the_bad_spot(body: str, pointer: str, fragment: str) -> None:
    with pytest.raises(CodecError) as caught:
        decode_put_body(parse_json(body), clock=clock)
    assert caught.value.pointer == pointer
    assert fragment in caught.value.reason
    assert str(caught.value) == f"{caught.value.reason} at {pointer or '/'}"


def test_site_refusals_name_the_bad_spot() -> None:
    document = json.loads(SITE_VALUE)
    document["data"]["value"]["servers"][0]["address"] = "registry.example"
    with pytest.raises(CodecError) as caught:
        decode_value(document)
    assert caught.value.pointer == "/data/value/servers/0/address"
    document = json.loads(SITE_VALUE)
    document["data"]["value"]["servers"][0]["interfaces"][1]["protocol"] = "QUIC"
    with pytest.raises(CodecError) as caught:
        decode_value(document)
    assert caught.value.pointer == "/data/value/servers/0/interfaces/1/protocol"
    document = json.loads(SITE_VALUE)
    document["data"]["value"]["protocolVersion"] = "two"
    with pytest.raises(CodecError) as caught:
        decode_value(document)
    assert caught.value.pointer == "/data/value/protocolVersion"


def test_pointer_tokens_are_escaped() -> None:
    with pytest.raises(CodecError) as caught:
        decode_value(
            {"index": 300, "type": "HS_PUBKEY", "data": {"format": "key", "value": {"kty": "X", "a/b": 1}}}
        )
    assert caught.value.pointer == "/data/value/a~1b"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"values":[],"values":[]}', "member 'values' appears twice"),
        (b'{"index":NaN}', "NaN is not JSON"),
        (b"\xff{}", "body is not UTF-8"),
        (b'{"values":[', "body is not JSON"),
        (b"", "body is not JSON"),
    ],
)
def test_bodies_are_parsed_strictly(raw: bytes, fragment: str) -> None:
    with pytest.raises(CodecError, match=fragment):
        parse_json(raw)


def test_codec_error_is_a_value_error() -> None:
    assert issubclass(CodecError, ValueError)


# -------------------------------------------------------------------------------------- served form


@pytest.mark.parametrize(
    ("data", "served"),
    [
        (ValueData.hex(b"hello"), ValueData.string("hello")),
        (ValueData.base64("碳".encode()), ValueData.string("碳")),
        (ValueData.base64(b"\xff\xfe"), ValueData.base64(b"\xff\xfe")),
        (ValueData.hex(b"\x00\x01"), ValueData.base64(b"\x00\x01")),
        (ValueData.string("line\nbreak\ttab"), ValueData.string("line\nbreak\ttab")),
        (ValueData.string("bell\x07"), ValueData.base64(b"bell\x07")),
        (ValueData.string("del\x7f"), ValueData.base64(b"del\x7f")),
    ],
)
def test_served_data_matches_the_servers_rendering(data: ValueData, served: ValueData) -> None:
    assert served_data(data) == served


def test_structured_data_is_served_unchanged() -> None:
    admin = default_admin_value(Prefix("88"), timestamp=T0).data
    assert served_data(admin) is admin
    assert not looks_like_binary(b"")
    assert looks_like_binary(b"\x00")


# ------------------------------------------------------------------------------------ resolution in


def test_decode_resolution_reads_success_not_found_and_empty() -> None:
    answer = decode_resolution(parse_json(GOLDEN_RESOLUTION))
    assert answer.response_code == 1
    assert answer.handle == "88.186.1/cices.5626"
    assert answer.values == tuple(record())
    missing = decode_resolution(
        parse_json('{"responseCode":100,"handle":"88/X","message":"Handle not found"}')
    )
    assert (missing.response_code, missing.values, missing.message) == (100, (), "Handle not found")
    empty = decode_resolution(parse_json(dumps(encode_values_not_found("88/X"))))
    assert (empty.response_code, empty.values) == (200, ())
    with pytest.raises(CodecError) as caught:
        decode_resolution(parse_json('{"responseCode":1,"handle":"88/X"}'))
    assert caught.value.reason == "member 'values' is missing"


# ------------------------------------------------------------------------------------- HTTP statuses


@pytest.mark.parametrize(
    ("code", "options", "status"),
    [
        (1, {}, 200),
        (1, {"created": True}, 201),
        (1, {"resolution": True}, 200),
        (200, {"resolution": True}, 200),
        (200, {}, 400),
        (100, {}, 404),
        (101, {}, 409),
        (201, {}, 409),
        (2, {}, 500),
        (4, {}, 400),
        (102, {}, 400),
        (202, {}, 400),
        (301, {}, 400),
        (5, {}, 501),
        (3, {}, 503),
        (7, {}, 503),
        (402, {}, 401),
        (400, {}, 403),
        (401, {}, 403),
        (403, {}, 403),
        (404, {}, 403),
        (405, {}, 500),
        (406, {}, 500),
        (302, {}, 300),
        (303, {}, 300),
        (300, {}, 500),
        (500, {}, 500),
        (6, {}, 500),
        (999, {}, 500),
    ],
)
def test_http_status_table(code: int, options: dict[str, bool], status: int) -> None:
    assert http_status_for(code, **options) == status


def test_response_code_names() -> None:
    assert response_codes.SUCCESS == 1
    assert response_codes.PREFIX_REFERRAL == 303
    assert ResponseCode(402) is ResponseCode.AUTHENTICATION_NEEDED
    assert response_codes.SESSION_TIMEOUT == 500
    assert json.dumps({"responseCode": ResponseCode.HANDLE_NOT_FOUND}) == '{"responseCode": 100}'
    assert default_message(100) == "Handle not found"
    assert default_message(12345) == "Response code 12345"


# ------------------------------------------------------------------------------------- round trips

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_type_text = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20)
_segment = st.text(alphabet="abcXYZ019-_", min_size=1, max_size=5)
_prefixes = (
    st.lists(_segment, min_size=1, max_size=3).map(".".join).filter(lambda text: not Prefix(text).is_na)
)
_suffixes = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    lambda text: len(text.encode()) <= MAX_SUFFIX_BYTES
)
_handles = st.one_of(
    st.builds(lambda prefix, suffix: parse_handle(f"{prefix}/{suffix}"), _prefixes, _suffixes),
    _prefixes.map(lambda prefix: Prefix(prefix).record_handle),
)
_ref_index = st.integers(0, MAX_INDEX)
_timestamps = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
_jwks = st.builds(
    lambda kty, rest: PublicKeyJwk((("kty", kty), *((k, v) for k, v in rest.items() if k != "kty"))),
    _text.filter(bool),
    st.dictionaries(_text, _text, max_size=4),
)
_interfaces = st.builds(
    ServerInterface,
    st.booleans(),
    st.booleans(),
    st.one_of(st.sampled_from(["UDP", "TCP", "HTTP", "HTTPS"]), st.integers(0, 255)),
    st.integers(0, 65535),
)
_servers = st.builds(
    ServerInfo,
    st.integers(0, MAX_INDEX),
    st.ip_addresses().map(str),
    st.one_of(_jwks.map(ValueData.key), st.binary(max_size=16).map(ValueData.base64)),
    st.lists(_interfaces, max_size=3).map(tuple),
)
_sites = st.builds(
    SiteInfo,
    st.integers(0, 2**15 - 1),
    st.builds(lambda major, minor: f"{major}.{minor}", st.integers(0, 127), st.integers(0, 127)),
    st.integers(0, MAX_INDEX),
    st.booleans(),
    st.booleans(),
    st.lists(st.builds(SiteAttribute, _text, _text), max_size=3).map(tuple),
    st.lists(_servers, max_size=2).map(tuple),
    st.one_of(st.none(), st.integers(0, 255)),
    st.one_of(st.none(), _text),
)
_typed_data = st.one_of(
    st.tuples(_type_text, _text.map(ValueData.string)),
    st.tuples(_type_text, st.binary(max_size=32).map(ValueData.base64)),
    st.tuples(_type_text, st.binary(max_size=32).map(ValueData.hex)),
    st.tuples(
        st.sampled_from(["HS_ADMIN", "hs_admin"]),
        st.builds(AdminValue, _handles, _ref_index, st.integers(0, 4095).map(AdminPermissions)).map(
            ValueData.admin
        ),
    ),
    st.tuples(
        st.just("HS_VLIST"),
        st.lists(st.builds(VListEntry, _handles, _ref_index), max_size=4).map(ValueData.vlist),
    ),
    st.tuples(st.sampled_from(["HS_SITE", "HS_SITE.PREFIX", "HS_NA_DELEGATE"]), _sites.map(ValueData.site)),
    st.tuples(st.just("HS_PUBKEY"), _jwks.map(ValueData.key)),
)
_values = st.builds(
    lambda index, typed, ttl, timestamp, flags: HandleValue(
        index,
        typed[0],
        typed[1],
        ttl,
        timestamp=timestamp,
        admin_read=flags[0],
        admin_write=flags[1],
        public_read=flags[2],
        public_write=flags[3],
    ),
    st.integers(1, MAX_INDEX),
    _typed_data,
    st.integers(0, MAX_TTL),
    _timestamps,
    st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
)


@given(_values)
def test_encode_then_decode_is_identity(value: HandleValue) -> None:
    text = dumps(encode_value(value, with_permissions=True))
    assert decode_value(parse_json(text.encode("utf-8"))) == value


@given(st.lists(_values, max_size=5, unique_by=lambda value: value.index), st.booleans())
def test_resolution_round_trip(values: list[HandleValue], pretty: bool) -> None:
    text = dumps(encode_resolution("88/X", values, with_permissions=True), pretty=pretty)
    answer = decode_resolution(parse_json(text))
    assert answer.values == tuple(values)
    assert answer.handle == "88/X"
