"""Handle and prefix syntax: parse, validate, compare.

A handle is `prefix/suffix`, split at the first `/`. A prefix is dot-separated segments (`88`,
`88.186`, `88.186.1`); the record of prefix `P` is the handle `0.NA/P`. Comparison is ASCII
case-insensitive exactly as the Handle.Net server does it (it upper-cases only the bytes `a`-`z`,
so `ß` or `é` never fold), yet a handle is echoed exactly as the client wrote it: every object
keeps its original `text` and exposes a normalised `key` used for equality, hashing and lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NA_PREFIX_TEXT = "0.NA"
"""The prefix whose handles are prefix records: `0.NA/88.186.1` is the record of `88.186.1`."""

ADMIN_SUFFIX = "ADMIN"
"""Suffix of a prefix's administrator handle, `<prefix>/ADMIN` (its secret key sits at index 300)."""

MAX_SUFFIX_BYTES = 255
"""Longest suffix, in bytes of UTF-8."""

MAX_PREFIX_LENGTH = 255
"""Longest prefix in characters (a prefix is ASCII, so also in bytes)."""

_SEGMENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class InvalidPrefix(ValueError):
    """A prefix is not well formed; the message says what is wrong and where."""


class InvalidHandle(ValueError):
    """A handle is not well formed; the message says what is wrong and where."""


def fold_ascii(text: str) -> str:
    """Upper-case ASCII letters only, as the Handle server compares handles and types.

    `str.upper` is not used because it folds non-ASCII letters too (and turns `ß` into `SS`),
    which would make two handles equal here that are distinct on every Handle server.
    """
    return text.translate(_ASCII_UPPER)


def _is_control(char: str) -> bool:
    code = ord(char)
    # C0, DEL and C1: none of them is printable, and several are treated specially by JSON, HTTP or logs.
    return code < 0x20 or 0x7F <= code <= 0x9F


def _describe(char: str) -> str:
    # Code points that would be invisible or ambiguous in a message are named by number.
    return f"U+{ord(char):04X}" if not char.isprintable() or char.isspace() else repr(char)


def _check_prefix_text(text: object) -> tuple[str, ...]:
    if not isinstance(text, str):
        raise InvalidPrefix(f"prefix must be a string, got {type(text).__name__}")
    if not text:
        raise InvalidPrefix("prefix is empty")
    if len(text) > MAX_PREFIX_LENGTH:
        raise InvalidPrefix(f"prefix is {len(text)} characters long, at most {MAX_PREFIX_LENGTH} are allowed")
    for position, char in enumerate(text):
        if char == "/":
            raise InvalidPrefix(f"prefix {text!r} contains '/' at position {position}")
        if char != "." and char not in _SEGMENT_CHARS:
            raise InvalidPrefix(
                f"prefix {text!r} contains {_describe(char)} at position {position}; "
                "segments may hold only ASCII letters, digits, '-' and '_'"
            )
    segments = tuple(text.split("."))
    position = 0
    for number, segment in enumerate(segments, start=1):
        if not segment:
            raise InvalidPrefix(f"prefix {text!r} has an empty segment {number} at position {position}")
        position += len(segment) + 1
    return segments


@dataclass(frozen=True, slots=True, eq=False)
class Prefix:
    """A handle prefix such as `88.186.1`: dot-separated segments of ASCII letters, digits, `-`, `_`.

    Equality and hashing use `key` (ASCII upper-case); `text` and `str()` give the prefix as written.
    """

    text: str
    segments: tuple[str, ...] = field(init=False, repr=False)
    key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", _check_prefix_text(self.text))
        object.__setattr__(self, "key", fold_ascii(self.text))

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Prefix):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(("prefix", self.key))

    @property
    def is_na(self) -> bool:
        """True for `0.NA` itself, the prefix that holds the prefix records."""
        return self.key == NA_PREFIX_TEXT.upper()

    @property
    def parent(self) -> Prefix | None:
        """The prefix one segment shorter (`88.186` for `88.186.1`); None for a one-segment prefix."""
        if len(self.segments) == 1:
            return None
        return Prefix(".".join(self.segments[:-1]))

    def ancestors(self, *, include_self: bool = False) -> tuple[Prefix, ...]:
        """The prefixes above this one, longest first: `88.186.1` → (`88.186`, `88`).

        With `include_self` the prefix itself comes first, which is the order a resolver tries
        when it looks for the most specific registry responsible for a handle.
        """
        count = len(self.segments)
        start = count if include_self else count - 1
        return tuple(Prefix(".".join(self.segments[:length])) for length in range(start, 0, -1))

    def is_below(self, other: Prefix) -> bool:
        """True when this prefix is derived from `other` (`88.186.1` is below `88`); never for itself."""
        return len(self.segments) > len(other.segments) and self.key.startswith(other.key + ".")

    def handle(self, suffix: str) -> Handle:
        """The handle `<prefix>/<suffix>` under this prefix, validated."""
        return Handle(f"{self.text}/{suffix}")

    @property
    def record_handle(self) -> Handle:
        """The handle of this prefix's record, `0.NA/<prefix>`."""
        return Handle(f"{NA_PREFIX_TEXT}/{self.text}")

    @property
    def admin_handle(self) -> Handle:
        """The administrator handle `<prefix>/ADMIN` whose HS_SECKEY authenticates writes."""
        return self.handle(ADMIN_SUFFIX)


def _check_suffix(handle_text: str, suffix: str, offset: int) -> None:
    if not suffix:
        raise InvalidHandle(f"handle {handle_text!r} has an empty suffix")
    for position, char in enumerate(suffix, start=offset):
        if _is_control(char):
            raise InvalidHandle(
                f"handle {handle_text!r} contains control character {_describe(char)} at position {position}"
            )
        if 0xD800 <= ord(char) <= 0xDFFF:
            # A lone surrogate cannot be written as UTF-8, so no server could store this suffix.
            raise InvalidHandle(
                f"handle {handle_text!r} contains lone surrogate {_describe(char)} at position {position}"
            )
    size = len(suffix.encode("utf-8"))
    if size > MAX_SUFFIX_BYTES:
        raise InvalidHandle(
            f"handle {handle_text!r} has a suffix of {size} bytes of UTF-8, "
            f"at most {MAX_SUFFIX_BYTES} are allowed"
        )


@dataclass(frozen=True, slots=True, eq=False)
class Handle:
    """A handle `prefix/suffix`, split at the first `/` (the suffix may itself contain `/`).

    Equality and hashing use `key` (the whole handle, ASCII upper-case); `text` and `str()` give the
    handle exactly as written, which is what every response must echo.
    """

    text: str
    prefix: Prefix = field(init=False, repr=False)
    suffix: str = field(init=False, repr=False)
    key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        text = self.text
        if not isinstance(text, str):
            raise InvalidHandle(f"handle must be a string, got {type(text).__name__}")
        if not text:
            raise InvalidHandle("handle is empty")
        slash = text.find("/")
        if slash < 0:
            raise InvalidHandle(f"handle {text!r} has no '/' between prefix and suffix")
        if slash == 0:
            raise InvalidHandle(f"handle {text!r} has an empty prefix")
        try:
            prefix = Prefix(text[:slash])
        except InvalidPrefix as error:
            raise InvalidHandle(f"handle {text!r} has an invalid prefix: {error}") from None
        suffix = text[slash + 1 :]
        _check_suffix(text, suffix, slash + 1)
        if prefix.is_na:
            # 0.NA holds only prefix records, so its suffix must itself be a prefix.
            try:
                Prefix(suffix)
            except InvalidPrefix as error:
                raise InvalidHandle(f"prefix record {text!r} does not name a prefix: {error}") from None
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "suffix", suffix)
        object.__setattr__(self, "key", fold_ascii(text))

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Handle):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(("handle", self.key))

    @property
    def is_prefix_record(self) -> bool:
        """True for `0.NA/<prefix>` handles, the records of prefixes."""
        return self.prefix.is_na

    @property
    def record_prefix(self) -> Prefix:
        """The prefix a `0.NA/<prefix>` handle is the record of; `InvalidHandle` for other handles."""
        if not self.is_prefix_record:
            raise InvalidHandle(f"handle {self.text!r} is not a prefix record (0.NA/<prefix>)")
        return Prefix(self.suffix)

    @property
    def admin_handle(self) -> Handle:
        """The administrator handle `<prefix>/ADMIN` of this handle's prefix."""
        return self.prefix.admin_handle

    @property
    def is_admin_handle(self) -> bool:
        """True for `<prefix>/ADMIN` (ASCII case-insensitive)."""
        return fold_ascii(self.suffix) == ADMIN_SUFFIX


def parse_prefix(text: str) -> Prefix:
    """Parse a prefix such as `88.186.1`; raise `InvalidPrefix` with what is wrong and where."""
    return Prefix(text)


def parse_handle(text: str) -> Handle:
    """Parse a handle such as `88.186.1/CICES.5626`; raise `InvalidHandle` with what is wrong and where."""
    return Handle(text)


def parse_value_reference(text: str) -> tuple[int, Handle]:
    """Split `index:handle` (`300:88.186.1/ADMIN`) as the Handle server reads an authenticating identity.

    As on the server, the part before the first `:` is an index only when it is all ASCII digits;
    otherwise the whole text is the handle and the index is 0, meaning "any index of that handle".
    """
    head, colon, rest = text.partition(":")
    if colon and head and head.isascii() and head.isdigit():
        index = int(head)
        if index > 2**31 - 1:
            raise InvalidHandle(f"index {head} of {text!r} is larger than 2147483647")
        return index, parse_handle(rest)
    return 0, parse_handle(text)


def parse_mint_base(text: str) -> tuple[Prefix, str]:
    """Split the path handle of a `mintNewSuffix=true` PUT into its prefix and the start of the suffix.

    Clients send `88.186.1/` (an empty start) or `88.186.1/ACT.`; the server appends a fresh string.
    The start obeys the suffix rules except that it may be empty.
    """
    slash = text.find("/")
    if slash <= 0:
        raise InvalidHandle(
            f"mint base {text!r} must be '<prefix>/' optionally followed by the start of a suffix"
        )
    try:
        prefix = Prefix(text[:slash])
    except InvalidPrefix as error:
        raise InvalidHandle(f"mint base {text!r} has an invalid prefix: {error}") from None
    start = text[slash + 1 :]
    if start:
        _check_suffix(text, start, slash + 1)
    return prefix, start


def _hex_value(char: str) -> int:
    return "0123456789abcdef".index(char.lower()) if char in "0123456789abcdefABCDEF" else -1


def percent_decode(text: str) -> str:
    """Decode `%XX` escapes of a URL path as UTF-8, leaving `+` alone; raise `InvalidHandle` on bad escapes.

    The Handle server decodes the raw request path this way (a `+` stays a `+`), so a handle
    arriving as `88.186.1%2FA%2BB` is `88.186.1/A+B`. A `%` not followed by two hex digits, or
    escapes that do not form UTF-8, are refused rather than guessed at.
    """
    if "%" not in text:
        return text
    out = bytearray()
    position = 0
    while position < len(text):
        char = text[position]
        if char != "%":
            out += char.encode("utf-8", "surrogatepass")
            position += 1
            continue
        pair = text[position + 1 : position + 3]
        if len(pair) < 2 or _hex_value(pair[0]) < 0 or _hex_value(pair[1]) < 0:
            raise InvalidHandle(
                f"bad percent-escape {text[position : position + 3]!r} at position {position}"
            )
        out.append(_hex_value(pair[0]) * 16 + _hex_value(pair[1]))
        position += 3
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidHandle(
            f"percent-escapes do not form UTF-8 at byte {error.start} of the decoded text"
        ) from None


def parse_handle_from_path(raw_path_part: str) -> Handle:
    """Percent-decode the handle part of a raw URL path (`/api/handles/<this>`) and parse it."""
    return parse_handle(percent_decode(raw_path_part))
