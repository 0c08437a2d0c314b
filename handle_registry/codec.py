"""The Handle REST JSON API encoding: strict output, lenient input.

Output is exactly what the Handle.Net server v9 writes (`net.handle.hdllib.GsonUtility`): every
value is `{"index","type","data":{"format","value"},"ttl","timestamp"}` in that order, timestamps
are ISO-8601 UTC with whole seconds and a `Z`, and the bodies of resolution, error, write and list
responses have the server's members. Input is as lenient as the server's: a PUT body may be
`{"values":[...]}`, a bare array or one value; `data` may be a bare string; an index may be a
numeric string. What cannot be understood is refused with a `CodecError` naming the JSON pointer
of the bad spot.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

from common.strict_json import finite_float, nesting_depth
from handle_registry.identifiers import Handle, InvalidHandle
from handle_registry.response_codes import SUCCESS, VALUES_NOT_FOUND
from handle_registry.values import (
    DEFAULT_TTL,
    INTERFACE_PROTOCOLS,
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
    now_utc,
    structured_format_for,
)

Json: TypeAlias = bool | int | float | str | list["Json"] | dict[str, "Json"] | None
"""A JSON document as `json.loads` returns it."""

Clock: TypeAlias = Callable[[], datetime]


class CodecError(ValueError):
    """A JSON document is not a valid Handle REST API document; `pointer` is where (RFC 6901)."""

    def __init__(self, reason: str, pointer: str = "") -> None:
        super().__init__(f"{reason} at {pointer or '/'}")
        self.reason = reason
        self.pointer = pointer


def _child(pointer: str, token: str | int) -> str:
    text = str(token).replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{text}"


# ---------------------------------------------------------------------------------------------- output


def format_timestamp(moment: datetime) -> str:
    """`2025-01-02T03:04:05Z`: ISO-8601 in UTC, whole seconds, as the server writes every timestamp."""
    if moment.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    utc = moment.astimezone(UTC)
    # Built by hand: strftime does not zero-pad years below 1000 on every platform.
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


def _encode_key(jwk: PublicKeyJwk) -> dict[str, Json]:
    return dict(jwk.members)


def _encode_site(site: SiteInfo) -> dict[str, Json]:
    document: dict[str, Json] = {
        "version": site.version,
        "protocolVersion": site.protocol_version,
        "serialNumber": site.serial_number,
        "primarySite": site.primary_site,
        "multiPrimary": site.multi_primary,
    }
    # The server writes these two only when they differ from "hash by whole handle".
    if site.hash_option is not None:
        document["hashOption"] = site.hash_option
    if site.hash_filter is not None:
        document["hashFilter"] = site.hash_filter
    document["attributes"] = [{"name": item.name, "value": item.value} for item in site.attributes]
    servers: list[Json] = []
    for server in site.servers:
        interfaces: list[Json] = [
            {"query": face.query, "admin": face.admin, "protocol": face.protocol, "port": face.port}
            for face in server.interfaces
        ]
        servers.append(
            {
                "serverId": server.server_id,
                "address": server.address,
                "publicKey": encode_data(server.public_key),
                "interfaces": interfaces,
            }
        )
    document["servers"] = servers
    return document


def encode_data(data: ValueData) -> dict[str, Json]:
    """`{"format":…,"value":…}` for one value's data."""
    value: Json
    match data.format:
        case ValueFormat.STRING:
            value = str(data.value)
        case ValueFormat.BASE64:
            value = base64.b64encode(_as_bytes(data)).decode("ascii")
        case ValueFormat.HEX:
            value = _as_bytes(data).hex()
        case ValueFormat.ADMIN:
            admin = data.value
            if not isinstance(admin, AdminValue):
                raise TypeError("admin data must hold an AdminValue")
            value = {"handle": admin.handle.text, "index": admin.index, "permissions": str(admin.permissions)}
        case ValueFormat.VLIST:
            entries = data.value if isinstance(data.value, tuple) else ()
            value = [{"handle": entry.handle.text, "index": entry.index} for entry in entries]
        case ValueFormat.SITE:
            if not isinstance(data.value, SiteInfo):
                raise TypeError("site data must hold a SiteInfo")
            value = _encode_site(data.value)
        case ValueFormat.KEY:
            if not isinstance(data.value, PublicKeyJwk):
                raise TypeError("key data must hold a PublicKeyJwk")
            value = _encode_key(data.value)
    return {"format": data.format.value, "value": value}


def _as_bytes(data: ValueData) -> bytes:
    if not isinstance(data.value, bytes):
        raise TypeError(f"{data.format} data must hold bytes")
    return data.value


def encode_value(value: HandleValue, *, with_permissions: bool = False) -> dict[str, Json]:
    """One handle value: `index`, `type`, `data`, `ttl`, `timestamp`, in that order.

    With `with_permissions` a `permissions` member (admin read, admin write, public read, public
    write as `0`/`1`) is added between `data` and `ttl` when the flags differ from the defaults,
    exactly where and when the Handle server adds it.
    """
    document: dict[str, Json] = {"index": value.index, "type": value.type, "data": encode_data(value.data)}
    if with_permissions and not value.has_default_permissions:
        document["permissions"] = value.permissions_text
    document["ttl"] = value.ttl
    document["timestamp"] = format_timestamp(value.timestamp)
    return document


def encode_values(values: Iterable[HandleValue], *, with_permissions: bool = False) -> list[Json]:
    """A list of encoded handle values, in the given order."""
    return [encode_value(value, with_permissions=with_permissions) for value in values]


def _echo(handle: str | Handle) -> str:
    return handle.text if isinstance(handle, Handle) else handle


def encode_resolution(
    handle: str | Handle, values: Iterable[HandleValue], *, with_permissions: bool = False
) -> dict[str, Json]:
    """`{"responseCode":1,"handle":…,"values":[…]}`; pass the handle exactly as the client requested it."""
    return {
        "responseCode": int(SUCCESS),
        "handle": _echo(handle),
        "values": encode_values(values, with_permissions=with_permissions),
    }


def encode_values_not_found(handle: str | Handle) -> dict[str, Json]:
    """`{"responseCode":200,"handle":…,"values":[]}`: the handle exists but no value passed the filters."""
    return {"responseCode": int(VALUES_NOT_FOUND), "handle": _echo(handle), "values": []}


def encode_success(handle: str | Handle) -> dict[str, Json]:
    """`{"responseCode":1,"handle":…}`: the body of a successful PUT or DELETE.

    The server does not echo the values. For `mintNewSuffix=true` pass the newly minted handle:
    that is the only way the client learns it.
    """
    return {"responseCode": int(SUCCESS), "handle": _echo(handle)}


def encode_error(code: int, message: str, *, handle: str | Handle | None = None) -> dict[str, Json]:
    """`{"responseCode":N,"handle":…,"message":…}`; `handle` is left out when the request named none."""
    document: dict[str, Json] = {"responseCode": int(code)}
    if handle is not None:
        document["handle"] = _echo(handle)
    document["message"] = message
    return document


def encode_handle_list(
    prefix: str,
    handles: Iterable[str | Handle],
    total_count: int,
    *,
    page: int | None = None,
    page_size: int | None = None,
) -> dict[str, Json]:
    """The body of `GET /api/handles?prefix=P`: `totalCount` is a *string*, as the server writes it.

    `page` and `pageSize` appear only for a paginated listing (both given), as on the server.
    """
    document: dict[str, Json] = {
        "responseCode": int(SUCCESS),
        "prefix": prefix,
        "totalCount": str(total_count),
    }
    if page is not None and page_size is not None:
        document["page"] = page
        document["pageSize"] = page_size
    document["handles"] = [_echo(handle) for handle in handles]
    return document


def dumps(document: Json, *, pretty: bool = False) -> str:
    """Serialise a document as the server does: compact (or 2-space indented), UTF-8 text unescaped."""
    if pretty:
        text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
    else:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # Gson escapes these two, and a JSONP or <script> consumer breaks on them raw;
    # they can only occur inside strings, so replacing them is safe.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# --------------------------------------------------------------------------------- what is served


def looks_like_binary(raw: bytes) -> bool:
    """The server's test for rendering data as `base64` rather than `string`.

    Binary means: not valid UTF-8, or containing an ASCII control byte other than 0x09..0x13 or
    DEL. (The server's code admits 0x09..0x13, not the intended 0x09..0x0D; it is mirrored here so
    the same bytes come out in the same format.)
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any((byte < 0x09 or 0x13 < byte < 0x20) or byte == 0x7F for byte in raw)


def served_data(data: ValueData) -> ValueData:
    """The data in the format the Handle server would serve it back in.

    The server stores bytes and renders them from the value's type: `string` when the bytes look
    like text, otherwise `base64`; it never writes `hex`. Storing the result of this function makes
    a GET answer what a Handle server would answer after the same PUT. Structured formats
    (`admin`, `vlist`, `site`, `key`) are returned unchanged.
    """
    if data.format is ValueFormat.STRING and isinstance(data.value, str):
        raw = data.value.encode("utf-8", "surrogatepass")
    elif data.format in (ValueFormat.BASE64, ValueFormat.HEX) and isinstance(data.value, bytes):
        raw = data.value
    else:
        return data
    if looks_like_binary(raw):
        return ValueData.base64(raw)
    return ValueData.string(raw.decode("utf-8"))


# ------------------------------------------------------------------------------------------- input


def _reject_duplicates(pairs: list[tuple[str, Json]]) -> dict[str, Json]:
    document: dict[str, Json] = {}
    for name, value in pairs:
        if name in document:
            raise CodecError(f"member {name!r} appears twice in one object")
        document[name] = value
    return document


def _reject_constant(name: str) -> Json:
    raise CodecError(f"{name} is not JSON")


MAX_JSON_DEPTH = 64
"""Nesting a body may have; a handle value is a few levels deep, and deeper input must not reach the parser's
recursion (a RecursionError would be a 500)."""


def parse_json(raw: bytes | str) -> Json:
    """Parse a request body strictly: UTF-8, no duplicate members, no NaN or Infinity (nor numbers that
    overflow to it, nor integers of more than 4300 digits), at most `MAX_JSON_DEPTH` levels deep."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CodecError(f"body is not UTF-8 (byte {error.start})") from None
    if nesting_depth(raw, MAX_JSON_DEPTH):
        raise CodecError(f"body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        document: Json = json.loads(
            raw,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_float=finite_float,
        )
    except json.JSONDecodeError as error:
        raise CodecError(
            f"body is not JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except CodecError:
        raise
    except ValueError as error:  # an integer too long to convert (sys.get_int_max_str_digits)
        raise CodecError(f"body is not JSON: {error}") from None
    return document


_DIGITS = re.compile(r"[0-9]{1,10}")
_TIMESTAMP = re.compile(
    r"(?P<main>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)?(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _integer(document: Json, pointer: str, name: str, low: int, high: int) -> int:
    """An integer, or a string of digits (clients such as pyhandle send `"index":"200"`)."""
    if isinstance(document, bool) or not isinstance(document, int | str):
        raise CodecError(f"{name} must be an integer, got {_kind(document)}", pointer)
    if isinstance(document, str):
        if not _DIGITS.fullmatch(document):
            raise CodecError(f"{name} must be an integer, got the string {document!r}", pointer)
        document = int(document)
    if not low <= document <= high:
        raise CodecError(f"{name} must be in {low}..{high}, got {document}", pointer)
    return document


def _kind(document: Json) -> str:
    match document:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return f"the number {document}"
        case str():
            return "a string"
        case list():
            return "an array"
        case _:
            return "an object"


def _string(document: Json, pointer: str, name: str) -> str:
    if not isinstance(document, str):
        raise CodecError(f"{name} must be a string, got {_kind(document)}", pointer)
    return document


def _boolean(document: Json, pointer: str, name: str) -> bool:
    if not isinstance(document, bool):
        raise CodecError(f"{name} must be true or false, got {_kind(document)}", pointer)
    return document


def _object(document: Json, pointer: str, name: str) -> dict[str, Json]:
    if not isinstance(document, dict):
        raise CodecError(f"{name} must be an object, got {_kind(document)}", pointer)
    return document


def _array(document: Json, pointer: str, name: str) -> list[Json]:
    if not isinstance(document, list):
        raise CodecError(f"{name} must be an array, got {_kind(document)}", pointer)
    return document


def _required(document: dict[str, Json], member: str, pointer: str) -> Json:
    if member not in document:
        raise CodecError(f"member {member!r} is missing", pointer)
    return document[member]


def _handle(document: Json, pointer: str) -> Handle:
    try:
        return Handle(_string(document, pointer, "handle"))
    except InvalidHandle as error:
        raise CodecError(str(error), pointer) from None


def parse_timestamp(text: str, pointer: str = "") -> datetime:
    """Read an ISO-8601 timestamp; fractions of a second are dropped and a missing zone means UTC."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise CodecError(f"timestamp must look like 2025-01-02T03:04:05Z, got {text!r}", pointer)
    zone = match["zone"] or "Z"
    try:
        moment = datetime.fromisoformat(match["main"] + ("+00:00" if zone == "Z" else zone))
    except ValueError as error:
        raise CodecError(f"timestamp {text!r} is not a valid date and time: {error}", pointer) from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is valid, yet an hour before year 1 in UTC
        raise CodecError(f"timestamp {text!r} lies outside years 1..9999 in UTC", pointer) from None


def _decode_admin(document: Json, pointer: str) -> AdminValue:
    admin = _object(document, pointer, "admin data")
    handle = _handle(_required(admin, "handle", pointer), _child(pointer, "handle"))
    index = _integer(
        _required(admin, "index", pointer), _child(pointer, "index"), "admin index", 0, MAX_INDEX
    )
    permissions_pointer = _child(pointer, "permissions")
    text = _string(_required(admin, "permissions", pointer), permissions_pointer, "permissions")
    try:
        permissions = AdminPermissions.parse(text)
    except ValueError as error:
        raise CodecError(str(error), permissions_pointer) from None
    return AdminValue(handle, index, permissions)


def _decode_vlist(document: Json, pointer: str) -> tuple[VListEntry, ...]:
    entries = []
    for position, item in enumerate(_array(document, pointer, "vlist data")):
        item_pointer = _child(pointer, position)
        reference = _object(item, item_pointer, "vlist entry")
        handle = _handle(_required(reference, "handle", item_pointer), _child(item_pointer, "handle"))
        index = _integer(
            _required(reference, "index", item_pointer), _child(item_pointer, "index"), "index", 0, MAX_INDEX
        )
        entries.append(VListEntry(handle, index))
    return tuple(entries)


def _decode_key(document: Json, pointer: str) -> PublicKeyJwk:
    jwk = _object(document, pointer, "key data")
    members = tuple(
        (name, _string(value, _child(pointer, name), "JWK member")) for name, value in jwk.items()
    )
    try:
        return PublicKeyJwk(members)
    except ValueError as error:
        raise CodecError(str(error), pointer) from None


def _decode_interface(document: Json, pointer: str) -> ServerInterface:
    face = _object(document, pointer, "interface")
    query = _boolean(face.get("query", False), _child(pointer, "query"), "query")
    admin = _boolean(face.get("admin", False), _child(pointer, "admin"), "admin")
    protocol_pointer = _child(pointer, "protocol")
    protocol_json = _required(face, "protocol", pointer)
    protocol: str | int
    if isinstance(protocol_json, str):
        if protocol_json not in INTERFACE_PROTOCOLS:
            raise CodecError(
                f"protocol must be one of {', '.join(INTERFACE_PROTOCOLS)} or a number", protocol_pointer
            )
        protocol = protocol_json
    else:
        protocol = _integer(protocol_json, protocol_pointer, "protocol", 0, 255)
    port = _integer(_required(face, "port", pointer), _child(pointer, "port"), "port", 0, 2**31 - 1)
    return ServerInterface(query, admin, protocol, port)


def _decode_server(document: Json, pointer: str) -> ServerInfo:
    server = _object(document, pointer, "server")
    server_id = _integer(
        _required(server, "serverId", pointer), _child(pointer, "serverId"), "serverId", 0, MAX_INDEX
    )
    address_pointer = _child(pointer, "address")
    address = _string(_required(server, "address", pointer), address_pointer, "address")
    key_pointer = _child(pointer, "publicKey")
    key = _decode_data(_required(server, "publicKey", pointer), key_pointer, None)
    if key.format not in (ValueFormat.KEY, ValueFormat.BASE64):
        raise CodecError("publicKey must be data of format 'key' or 'base64'", key_pointer)
    interfaces_pointer = _child(pointer, "interfaces")
    interfaces = tuple(
        _decode_interface(item, _child(interfaces_pointer, position))
        for position, item in enumerate(
            _array(_required(server, "interfaces", pointer), interfaces_pointer, "interfaces")
        )
    )
    try:
        return ServerInfo(server_id, address, key, interfaces)
    except ValueError:
        raise CodecError(
            f"address must be an IPv4 or IPv6 address, got {address!r}", address_pointer
        ) from None


def _decode_attributes(document: Json, pointer: str) -> tuple[SiteAttribute, ...]:
    # The server writes [{"name","value"}] and also reads {"name":"value"}; both are accepted.
    if isinstance(document, dict):
        return tuple(
            SiteAttribute(name, _string(value, _child(pointer, name), "attribute value"))
            for name, value in document.items()
        )
    attributes = []
    for position, item in enumerate(_array(document, pointer, "attributes")):
        item_pointer = _child(pointer, position)
        attribute = _object(item, item_pointer, "attribute")
        name = _string(_required(attribute, "name", item_pointer), _child(item_pointer, "name"), "name")
        value = _string(_required(attribute, "value", item_pointer), _child(item_pointer, "value"), "value")
        attributes.append(SiteAttribute(name, value))
    return tuple(attributes)


def _decode_site(document: Json, pointer: str) -> SiteInfo:
    site = _object(document, pointer, "site data")

    def member(name: str) -> tuple[Json, str]:
        return _required(site, name, pointer), _child(pointer, name)

    version = _integer(*member("version"), "version", 0, 2**15 - 1)
    protocol_version = _string(*member("protocolVersion"), "protocolVersion")
    serial_number = _integer(*member("serialNumber"), "serialNumber", 0, MAX_INDEX)
    primary_site = _boolean(*member("primarySite"), "primarySite")
    multi_primary = _boolean(*member("multiPrimary"), "multiPrimary")
    hash_option = None
    if "hashOption" in site:
        hash_option = _integer(*member("hashOption"), "hashOption", 0, 255)
    hash_filter = _string(*member("hashFilter"), "hashFilter") if "hashFilter" in site else None
    attributes: tuple[SiteAttribute, ...] = ()
    if "attributes" in site:
        attributes = _decode_attributes(*member("attributes"))
    servers_json, servers_pointer = member("servers")
    servers = tuple(
        _decode_server(item, _child(servers_pointer, position))
        for position, item in enumerate(_array(servers_json, servers_pointer, "servers"))
    )
    try:
        return SiteInfo(
            version,
            protocol_version,
            serial_number,
            primary_site,
            multi_primary,
            attributes,
            servers,
            hash_option,
            hash_filter,
        )
    except ValueError as error:
        raise CodecError(str(error), _child(pointer, "protocolVersion")) from None


def _decode_bytes(text: str, value_format: ValueFormat, pointer: str) -> bytes:
    if value_format is ValueFormat.HEX:
        if len(text) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", text):
            raise CodecError("hex data must be an even number of hex digits", pointer)
        return bytes.fromhex(text)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise CodecError(f"base64 data is not valid base64: {error}", pointer) from None


def _decode_data(document: Json, pointer: str, value_type: str | None) -> ValueData:
    """Data of a value of `value_type` (None inside HS_SITE, where only key/base64 appear)."""
    if isinstance(document, str):
        return ValueData.string(document)
    data = _object(document, pointer, "data")
    if "format" not in data:
        inner = data.get("value", data)
        inner_pointer = _child(pointer, "value") if "value" in data else pointer
        if isinstance(inner, str):
            return ValueData.string(inner)
        looks_admin = isinstance(inner, dict) and "handle" in inner and "index" in inner
        if value_type is not None and structured_format_for(value_type) is ValueFormat.ADMIN and looks_admin:
            return ValueData.admin(_decode_admin(inner, inner_pointer))
        raise CodecError("member 'format' is missing", pointer)
    format_pointer = _child(pointer, "format")
    name = _string(data["format"], format_pointer, "format")
    try:
        value_format = ValueFormat(name.lower())
    except ValueError:
        known = ", ".join(item.value for item in ValueFormat)
        raise CodecError(f"unknown format {name!r}; known formats are {known}", format_pointer) from None
    native = None if value_type is None else structured_format_for(value_type)
    structured = (ValueFormat.ADMIN, ValueFormat.VLIST, ValueFormat.SITE, ValueFormat.KEY)
    if value_type is not None and value_format in structured and native is not value_format:
        # The server renders structured data from the value's type: on another type it would
        # come back as base64, so accepting it would break the echo.
        raise CodecError(f"format {value_format.value!r} does not fit type {value_type!r}", format_pointer)
    value = _required(data, "value", pointer)
    value_pointer = _child(pointer, "value")
    match value_format:
        case ValueFormat.STRING:
            return ValueData.string(_string(value, value_pointer, "string data"))
        case ValueFormat.BASE64 | ValueFormat.HEX:
            raw = _decode_bytes(
                _string(value, value_pointer, f"{value_format.value} data"), value_format, value_pointer
            )
            return ValueData(value_format, raw)
        case ValueFormat.ADMIN:
            return ValueData.admin(_decode_admin(value, value_pointer))
        case ValueFormat.VLIST:
            return ValueData.vlist(_decode_vlist(value, value_pointer))
        case ValueFormat.SITE:
            return ValueData.site(_decode_site(value, value_pointer))
        case ValueFormat.KEY:
            return ValueData.key(_decode_key(value, value_pointer))
    raise AssertionError(value_format)  # pragma: no cover - the match is exhaustive


def _decode_value_permissions(document: Json, pointer: str) -> tuple[bool, bool, bool, bool]:
    text = _string(document, pointer, "permissions")
    if len(text) != 4 or not set(text) <= {"0", "1"}:
        raise CodecError(
            f"value permissions must be 4 '0'/'1' characters (admin read, admin write, public read, "
            f"public write), got {text!r}",
            pointer,
        )
    admin_read, admin_write, public_read, public_write = (char == "1" for char in text)
    return admin_read, admin_write, public_read, public_write


def decode_value(document: Json, pointer: str = "", *, clock: Clock = now_utc) -> HandleValue:
    """One handle value, leniently: `data` may be a bare string, `index` and `ttl` numeric strings.

    A missing `ttl` becomes 86400 and a missing `timestamp` the time `clock` gives. Members the
    API does not define are ignored, as the server ignores them.
    """
    value = _object(document, pointer, "a handle value")
    index = _integer(_required(value, "index", pointer), _child(pointer, "index"), "index", 1, MAX_INDEX)
    type_pointer = _child(pointer, "type")
    value_type = _string(_required(value, "type", pointer), type_pointer, "type")
    if not value_type:
        raise CodecError("type must not be empty", type_pointer)
    if any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in value_type):
        raise CodecError(f"type {value_type!r} contains a control character", type_pointer)
    data = _decode_data(_required(value, "data", pointer), _child(pointer, "data"), value_type)
    ttl = DEFAULT_TTL
    if "ttl" in value:
        ttl_json = value["ttl"]
        ttl_pointer = _child(pointer, "ttl")
        if isinstance(ttl_json, str) and _TIMESTAMP.fullmatch(ttl_json):
            raise CodecError(
                "absolute TTLs (a timestamp as ttl) are not supported; give seconds", ttl_pointer
            )
        ttl = _integer(ttl_json, ttl_pointer, "ttl", 0, MAX_TTL)
    if "timestamp" in value:
        timestamp_pointer = _child(pointer, "timestamp")
        timestamp = parse_timestamp(
            _string(value["timestamp"], timestamp_pointer, "timestamp"), timestamp_pointer
        )
    else:
        timestamp = clock()
    flags = (True, True, True, False)
    if "permissions" in value:
        flags = _decode_value_permissions(value["permissions"], _child(pointer, "permissions"))
    admin_read, admin_write, public_read, public_write = flags
    return HandleValue(
        index,
        value_type,
        data,
        ttl,
        timestamp=timestamp,
        admin_read=admin_read,
        admin_write=admin_write,
        public_read=public_read,
        public_write=public_write,
    )


def decode_values(document: Json, pointer: str = "", *, clock: Clock = now_utc) -> tuple[HandleValue, ...]:
    """An array of handle values; the same index twice is refused at the second occurrence."""
    values: list[HandleValue] = []
    seen: dict[int, str] = {}
    for position, item in enumerate(_array(document, pointer, "values")):
        item_pointer = _child(pointer, position)
        value = decode_value(item, item_pointer, clock=clock)
        if value.index in seen:
            raise CodecError(
                f"index {value.index} appears twice (first at {seen[value.index]})",
                _child(item_pointer, "index"),
            )
        seen[value.index] = item_pointer
        values.append(value)
    return tuple(values)


@dataclass(frozen=True, slots=True)
class PutBody:
    """The values of a PUT body, and the `handle` member of `{"handle":…,"values":[…]}` when present.

    The server refuses a body whose `handle` differs (ASCII case-insensitively) from the one in the
    path; that check needs the path, so it is the caller's.
    """

    values: tuple[HandleValue, ...]
    handle: str | None = None


def decode_put_body(document: Json, *, clock: Clock = now_utc) -> PutBody:
    """A PUT body: `{"values":[…]}` (other members ignored), a bare array, or one value object.

    An object counts as one value when it has `index`, `type` and `data`, the server's own test.
    """
    if isinstance(document, list):
        return PutBody(decode_values(document, clock=clock))
    if isinstance(document, dict):
        if "values" in document:
            handle = None
            if "handle" in document:
                handle = _string(document["handle"], "/handle", "handle")
            return PutBody(decode_values(document["values"], "/values", clock=clock), handle)
        if all(member in document for member in ("index", "type", "data")):
            return PutBody((decode_value(document, clock=clock),))
    raise CodecError(
        'body must be {"values":[…]}, an array of handle values, or one handle value '
        f"(an object with index, type and data), got {_kind(document)}"
    )


@dataclass(frozen=True, slots=True)
class ResolutionResponse:
    """A resolution answer as a client reads it: the code, the echoed handle, the values or the message."""

    response_code: int
    handle: str | None
    values: tuple[HandleValue, ...]
    message: str | None = None


def decode_resolution(document: Json, *, clock: Clock = now_utc) -> ResolutionResponse:
    """Read a `GET /api/handles/{handle}` answer from another server (success and error bodies alike)."""
    body = _object(document, "", "a resolution response")
    code = _integer(_required(body, "responseCode", ""), "/responseCode", "responseCode", 0, MAX_INDEX)
    handle = _string(body["handle"], "/handle", "handle") if "handle" in body else None
    message = _string(body["message"], "/message", "message") if "message" in body else None
    values: tuple[HandleValue, ...] = ()
    if code == SUCCESS or "values" in body:
        values = decode_values(_required(body, "values", ""), "/values", clock=clock)
    return ResolutionResponse(code, handle, values, message)
