"""Handle values, their data formats, HS_ADMIN permissions, and the `type=` filter.

These are the value objects of a handle record as the Handle.Net server v9 models them: every
value has an index, a type, data, a TTL, a timestamp and four permission flags. The data is kept
in its JSON *format* (`string`, `base64`, `hex`, `admin`, `vlist`, `site`, `key`) rather than in
Handle's binary encoding, because the REST JSON API is the only wire carbonid speaks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum

from handle_registry.identifiers import Handle, Prefix, fold_ascii

MAX_INDEX = 2**31 - 1
"""Largest value index (Handle stores indexes as signed 32-bit integers)."""

MAX_TTL = 2**31 - 1
"""Largest relative TTL in seconds (also a signed 32-bit integer on the wire)."""

DEFAULT_TTL = 86400
"""TTL the Handle server gives a value that arrives without one."""

# Reserved indexes (Handle conventions and the industrial-internet identifier conventions).
HS_ADMIN_INDEX = 100
"""Index of the HS_ADMIN value on every handle."""
ADMIN_GROUP_INDEX = 200
"""Index of the admin HS_VLIST on a prefix record, referenced by the default HS_ADMIN value."""
HS_SECKEY_INDEX = 300
"""Index of the HS_SECKEY on `<prefix>/ADMIN`: Basic auth user `300:<prefix>/ADMIN`."""
SIGNATURE_INDEX_MIN = 400
"""First index of signature and certificate values (400 up to the TEMPLATE index)."""
TEMPLATE_INDEX = 1001
"""Index of the TEMPLATE value (metadata template id and version) on every identifier record."""
TEMPLATE_FIELD_INDEX_MIN = 2000
"""First index of the per-field values of a metadata template, one value per top-level field."""

# Value types.
TYPE_HS_ADMIN = "HS_ADMIN"
TYPE_HS_SITE = "HS_SITE"
TYPE_HS_SITE_PREFIX = "HS_SITE.PREFIX"
TYPE_HS_NA_DELEGATE = "HS_NA_DELEGATE"
"""Legacy name of HS_SITE.PREFIX; the server still renders it as site data."""
TYPE_HS_SERV = "HS_SERV"
TYPE_HS_SERV_PREFIX = "HS_SERV.PREFIX"
TYPE_HS_PUBKEY = "HS_PUBKEY"
TYPE_HS_SECKEY = "HS_SECKEY"
TYPE_HS_VLIST = "HS_VLIST"
TYPE_HS_ALIAS = "HS_ALIAS"
TYPE_URL = "URL"
TYPE_EMAIL = "EMAIL"
TYPE_TEMPLATE = "TEMPLATE"


class ValueFormat(StrEnum):
    """The `data.format` of a handle value in the REST JSON API."""

    STRING = "string"
    BASE64 = "base64"
    HEX = "hex"
    ADMIN = "admin"
    VLIST = "vlist"
    SITE = "site"
    KEY = "key"


class Permission(IntEnum):
    """HS_ADMIN permission bits; bit 0 is the rightmost character of the 12-character string."""

    ADD_HANDLE = 0
    DELETE_HANDLE = 1
    ADD_DERIVED_PREFIX = 2
    DELETE_DERIVED_PREFIX = 3
    MODIFY_VALUE = 4
    REMOVE_VALUE = 5
    ADD_VALUE = 6
    MODIFY_ADMIN = 7
    REMOVE_ADMIN = 8
    ADD_ADMIN = 9
    READ_VALUE = 10
    LIST_HANDLES = 11


PERMISSION_BITS = len(Permission)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    # bool is an int subclass; a JSON `true` must never pass for index 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class AdminPermissions:
    """The 12 HS_ADMIN permission bits as an integer mask (bit n = `Permission(n)`)."""

    mask: int

    def __post_init__(self) -> None:
        _check_int("permission mask", self.mask, 0, (1 << PERMISSION_BITS) - 1)

    @classmethod
    def parse(cls, text: str) -> AdminPermissions:
        """Parse exactly 12 `0`/`1` characters: leftmost LIST_HANDLES, rightmost ADD_HANDLE."""
        if not isinstance(text, str):
            raise ValueError(
                f"permissions must be a string of 12 '0'/'1' characters, got {type(text).__name__}"
            )
        if len(text) != PERMISSION_BITS:
            raise ValueError(
                f"permissions must be exactly {PERMISSION_BITS} '0'/'1' characters, got {len(text)}: {text!r}"
            )
        for position, char in enumerate(text):
            if char not in "01":
                raise ValueError(
                    f"permissions {text!r} has {char!r} at position {position}; only '0' and '1'"
                )
        return cls(int(text, 2))

    @classmethod
    def of(cls, *permissions: Permission) -> AdminPermissions:
        """The permissions that allow exactly the given operations."""
        mask = 0
        for permission in permissions:
            mask |= 1 << permission
        return cls(mask)

    def __str__(self) -> str:
        return format(self.mask, f"0{PERMISSION_BITS}b")

    def allows(self, permission: Permission) -> bool:
        """True when the bit of `permission` is set."""
        return bool(self.mask >> permission & 1)

    def granted(self) -> tuple[Permission, ...]:
        """Every permission this mask allows, in bit order."""
        return tuple(permission for permission in Permission if self.allows(permission))


DEFAULT_ADMIN_PERMISSIONS = AdminPermissions.parse("011111110011")
"""What hdl-admintool and pyhandle grant a handle's administrator: all but derived prefixes and listing."""


@dataclass(frozen=True, slots=True)
class AdminValue:
    """HS_ADMIN data: the administrator `handle`, the `index` of its key or group, and its permissions."""

    handle: Handle
    index: int
    permissions: AdminPermissions

    def __post_init__(self) -> None:
        # Index 0 is legal in a reference: Handle reads it as "any index of that handle".
        _check_int("admin index", self.index, 0, MAX_INDEX)


@dataclass(frozen=True, slots=True)
class VListEntry:
    """One reference `index:handle` of an HS_VLIST (an admin group)."""

    handle: Handle
    index: int

    def __post_init__(self) -> None:
        _check_int("vlist index", self.index, 0, MAX_INDEX)


@dataclass(frozen=True, slots=True)
class PublicKeyJwk:
    """A public key as the Handle server renders HS_PUBKEY data: a JSON Web Key (RFC 7517) object.

    Members are kept in their original order so a key is echoed byte for byte. The server itself
    emits `{"kty":"DSA","y","p","q","g"}` and `{"kty":"RSA","n","e"}`; carbonid keys use
    `{"kty":"OKP","crv":"Ed25519","x"}` (RFC 8037), and the Chinese industrial-internet SDKs use
    `{"kty":"SM2",...}`. Only string members are accepted, as in every one of those shapes.
    """

    members: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        names = [name for name, _ in self.members]
        for name, value in self.members:
            if not isinstance(name, str) or not isinstance(value, str):
                raise ValueError("JWK members must be string names with string values")
        if len(set(names)) != len(names):
            raise ValueError("JWK has a duplicate member name")
        if "kty" not in names or not dict(self.members)["kty"]:
            raise ValueError('JWK must have a non-empty "kty" member')

    @classmethod
    def from_dict(cls, jwk: dict[str, str]) -> PublicKeyJwk:
        """Build from a mapping of string members, in its order."""
        return cls(tuple(jwk.items()))

    @property
    def kty(self) -> str:
        """The key type (`OKP`, `RSA`, `DSA`, `SM2`, ...)."""
        return dict(self.members)["kty"]

    def as_dict(self) -> dict[str, str]:
        """The members as a new dict, in order."""
        return dict(self.members)


@dataclass(frozen=True, slots=True)
class SiteAttribute:
    """A `name`/`value` attribute of an HS_SITE (for example `desc`)."""

    name: str
    value: str


INTERFACE_PROTOCOLS = ("UDP", "TCP", "HTTP", "HTTPS")
"""Protocol names the server writes for interface protocol codes 0..3; other codes stay numbers."""


@dataclass(frozen=True, slots=True)
class ServerInterface:
    """One interface of a server in an HS_SITE: what it serves (query/admin), its protocol and port."""

    query: bool
    admin: bool
    protocol: str | int
    port: int

    def __post_init__(self) -> None:
        if isinstance(self.protocol, str):
            if self.protocol not in INTERFACE_PROTOCOLS:
                raise ValueError(
                    f"interface protocol must be one of {INTERFACE_PROTOCOLS} or a number 0..255"
                )
        else:
            _check_int("interface protocol", self.protocol, 0, 255)
        _check_int("interface port", self.port, 0, 2**31 - 1)


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """One server of an HS_SITE: id, IP address, public key (JWK, or base64 if unrenderable), interfaces."""

    server_id: int
    address: str
    public_key: ValueData
    interfaces: tuple[ServerInterface, ...]

    def __post_init__(self) -> None:
        _check_int("serverId", self.server_id, 0, MAX_INDEX)
        # HS_SITE stores a 16-byte IP address; a host name cannot be represented.
        ipaddress.ip_address(self.address)
        if self.public_key.format not in (ValueFormat.KEY, ValueFormat.BASE64):
            raise ValueError("server publicKey must be data of format 'key' or 'base64'")


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """HS_SITE / HS_SITE.PREFIX data, field for field as the Handle server writes it in JSON."""

    version: int
    protocol_version: str
    serial_number: int
    primary_site: bool
    multi_primary: bool
    attributes: tuple[SiteAttribute, ...] = ()
    servers: tuple[ServerInfo, ...] = ()
    hash_option: int | None = None
    hash_filter: str | None = None

    def __post_init__(self) -> None:
        _check_int("site version", self.version, 0, 2**15 - 1)
        major, dot, minor = self.protocol_version.partition(".")
        if not (dot and major.isdigit() and minor.isdigit() and int(major) < 128 and int(minor) < 128):
            raise ValueError(f"protocolVersion must be 'major.minor', got {self.protocol_version!r}")
        _check_int("serialNumber", self.serial_number, 0, MAX_INDEX)
        if self.hash_option is not None:
            _check_int("hashOption", self.hash_option, 0, 255)


DataValue = str | bytes | AdminValue | tuple[VListEntry, ...] | SiteInfo | PublicKeyJwk
"""What `ValueData.value` holds for each format (see `ValueData`)."""

_VALUE_KINDS: dict[ValueFormat, type | tuple[type, ...]] = {
    ValueFormat.STRING: str,
    ValueFormat.BASE64: bytes,
    ValueFormat.HEX: bytes,
    ValueFormat.ADMIN: AdminValue,
    ValueFormat.VLIST: tuple,
    ValueFormat.SITE: SiteInfo,
    ValueFormat.KEY: PublicKeyJwk,
}


@dataclass(frozen=True, slots=True)
class ValueData:
    """The data of a handle value: its JSON `format` and the decoded `value`.

    `string` holds a `str`; `base64` and `hex` hold the raw `bytes` (the format says how they are
    written in JSON); `admin` an `AdminValue`; `vlist` a tuple of `VListEntry`; `site` a `SiteInfo`;
    `key` a `PublicKeyJwk`.
    """

    format: ValueFormat
    value: DataValue

    def __post_init__(self) -> None:
        value_format = ValueFormat(self.format)
        object.__setattr__(self, "format", value_format)
        if not isinstance(self.value, _VALUE_KINDS[value_format]):
            raise ValueError(f"data of format {value_format!s} cannot hold a {type(self.value).__name__}")
        # Only vlist data is a tuple, so this checks exactly the vlist entries.
        if isinstance(self.value, tuple) and not all(isinstance(entry, VListEntry) for entry in self.value):
            raise ValueError("vlist data must be a tuple of VListEntry")

    @classmethod
    def string(cls, text: str) -> ValueData:
        """Text data, written as `{"format":"string","value":text}`."""
        return cls(ValueFormat.STRING, text)

    @classmethod
    def base64(cls, raw: bytes) -> ValueData:
        """Binary data, written in base64."""
        return cls(ValueFormat.BASE64, bytes(raw))

    @classmethod
    def hex(cls, raw: bytes) -> ValueData:
        """Binary data, written in hex."""
        return cls(ValueFormat.HEX, bytes(raw))

    @classmethod
    def admin(cls, admin: AdminValue) -> ValueData:
        """HS_ADMIN data."""
        return cls(ValueFormat.ADMIN, admin)

    @classmethod
    def vlist(cls, entries: Iterable[VListEntry]) -> ValueData:
        """HS_VLIST data."""
        return cls(ValueFormat.VLIST, tuple(entries))

    @classmethod
    def site(cls, site: SiteInfo) -> ValueData:
        """HS_SITE data."""
        return cls(ValueFormat.SITE, site)

    @classmethod
    def key(cls, jwk: PublicKeyJwk) -> ValueData:
        """HS_PUBKEY data."""
        return cls(ValueFormat.KEY, jwk)


def _utc_whole_seconds(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"timestamp must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    # The wire format has whole seconds; truncating here keeps encode → decode an identity.
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class HandleValue:
    """One value of a handle record.

    `timestamp` is normalised to UTC and whole seconds. The four permission flags default to the
    Handle defaults (administrators read and write, the public reads); the REST JSON output
    shows them only when asked and only when they differ from the defaults, as the server does.
    """

    index: int
    type: str
    data: ValueData
    ttl: int = DEFAULT_TTL
    timestamp: datetime = field(kw_only=True)
    admin_read: bool = field(default=True, kw_only=True)
    admin_write: bool = field(default=True, kw_only=True)
    public_read: bool = field(default=True, kw_only=True)
    public_write: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_int("index", self.index, 1, MAX_INDEX)
        if not isinstance(self.type, str) or not self.type:
            raise ValueError("type must be a non-empty string")
        if any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in self.type):
            raise ValueError(f"type {self.type!r} contains a control character")
        if not isinstance(self.data, ValueData):
            raise ValueError(f"data must be ValueData, got {type(self.data).__name__}")
        _check_int("ttl", self.ttl, 0, MAX_TTL)
        object.__setattr__(self, "timestamp", _utc_whole_seconds(self.timestamp))
        for flag in ("admin_read", "admin_write", "public_read", "public_write"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be a bool")

    @property
    def has_default_permissions(self) -> bool:
        """True for admin read+write, public read, no public write."""
        return self.admin_read and self.admin_write and self.public_read and not self.public_write

    @property
    def permissions_text(self) -> str:
        """The 4 permission characters the server writes: admin read/write, public read/write."""
        return "".join("1" if flag else "0" for flag in self.flags)

    @property
    def flags(self) -> tuple[bool, bool, bool, bool]:
        """(admin_read, admin_write, public_read, public_write)."""
        return (self.admin_read, self.admin_write, self.public_read, self.public_write)

    def matches_type(self, type_filter: str) -> bool:
        """True when this value is selected by a `type=` filter (see `type_matches`)."""
        return type_matches(self.type, type_filter)


def type_matches(value_type: str, type_filter: str) -> bool:
    """Whether a value of `value_type` is selected by the REST API filter `type=<type_filter>`.

    The rule of the Handle server (`Util.isParentTypeInArray`), ASCII case-insensitive:

    * a filter not ending in `.` matches that type exactly: `URL` selects `URL` and `url`, but
      not `URL.us`;
    * a filter ending in `.` selects the family: every type that starts with the filter
      (`HS_SITE.` selects `HS_SITE.PREFIX`) *and* the type equal to the filter without its dot
      (`URL.` selects `URL` itself);
    * a more specific filter never selects its parent: `URL.jp` does not select `URL`.

    An empty filter selects nothing.
    """
    if not type_filter or not value_type:
        return False
    value_key = fold_ascii(value_type)
    filter_key = fold_ascii(type_filter)
    if filter_key.endswith("."):
        return value_key.startswith(filter_key) or value_key == filter_key[:-1]
    return value_key == filter_key


def select_values(
    values: Iterable[HandleValue], *, types: Iterable[str] = (), indexes: Iterable[int] = ()
) -> tuple[HandleValue, ...]:
    """The values selected by repeated `type=` and `index=` parameters, in record order.

    With neither, every value is selected; otherwise a value is selected when it matches any of
    the types *or* any of the indexes, as on the Handle server.
    """
    type_filters = tuple(types)
    wanted_indexes = frozenset(indexes)
    values = tuple(values)
    if not type_filters and not wanted_indexes:
        return values
    return tuple(
        value
        for value in values
        if value.index in wanted_indexes or any(type_matches(value.type, wanted) for wanted in type_filters)
    )


_NATIVE_FORMATS: dict[str, ValueFormat] = {
    TYPE_HS_ADMIN: ValueFormat.ADMIN,
    TYPE_HS_VLIST: ValueFormat.VLIST,
    TYPE_HS_SITE: ValueFormat.SITE,
    TYPE_HS_SITE_PREFIX: ValueFormat.SITE,
    TYPE_HS_NA_DELEGATE: ValueFormat.SITE,
    TYPE_HS_PUBKEY: ValueFormat.KEY,
}


def structured_format_for(value_type: str) -> ValueFormat | None:
    """The structured format the server renders a type in (`HS_ADMIN` → admin ...), None for other types.

    The server picks `admin`, `vlist`, `site` or `key` from the value's *type* (exact, ASCII
    case-insensitive: `HS_ADMIN.x` is not admin data) and renders everything else as `string`
    or `base64`.
    """
    return _NATIVE_FORMATS.get(fold_ascii(value_type))


def default_admin_value(prefix: Prefix, *, timestamp: datetime, index: int = HS_ADMIN_INDEX) -> HandleValue:
    """The HS_ADMIN value a handle under `prefix` gets by default.

    Index 100, `{"handle":"0.NA/<prefix>","index":200,"permissions":"011111110011"}`: the admin
    group at index 200 of the prefix record may do everything but create or delete derived
    prefixes and list handles.
    """
    admin = AdminValue(prefix.record_handle, ADMIN_GROUP_INDEX, DEFAULT_ADMIN_PERMISSIONS)
    return HandleValue(index, TYPE_HS_ADMIN, ValueData.admin(admin), timestamp=timestamp)


def now_utc() -> datetime:
    """The current time in UTC, whole seconds; the default clock of the codec."""
    return datetime.now(UTC).replace(microsecond=0)
