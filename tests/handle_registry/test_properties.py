"""Properties of the Handle REST JSON codec and of the identifier parser, over arbitrary input.

`test_codec.py` and `test_identifiers.py` hold the round trips of one value and of a plain handle; this
module adds what must hold for *any* input a client or another server can send: every PUT body shape and
every lenient spelling decodes to the value it spells; decoding arbitrary JSON (or a valid value with one
member replaced by arbitrary JSON) fails only with `CodecError`; parsing arbitrary text fails only with
`InvalidHandle` / `InvalidPrefix`; comparison folds exactly the ASCII letters; and the suffix limit is
counted in bytes of UTF-8, not in characters.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from handle_registry.codec import (
    CodecError,
    Json,
    decode_put_body,
    decode_resolution,
    decode_value,
    decode_values,
    dumps,
    encode_resolution,
    encode_value,
    parse_json,
    parse_timestamp,
)
from handle_registry.identifiers import (
    MAX_PREFIX_LENGTH,
    MAX_SUFFIX_BYTES,
    InvalidHandle,
    InvalidPrefix,
    fold_ascii,
    parse_handle,
    parse_handle_from_path,
    parse_mint_base,
    parse_prefix,
    parse_value_reference,
    percent_decode,
)
from handle_registry.values import HandleValue, ValueFormat
from tests.handle_registry.test_codec import _values as handle_values  # every value type, every format

T1 = datetime(2026, 6, 7, 8, 9, 10, tzinfo=UTC)


def clock() -> datetime:
    return T1


# --- arbitrary JSON ---------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    # Strings the codec looks at closely: digits, timestamps, formats, types, handles.
    st.sampled_from(
        [
            "",
            "0",
            "100",
            "99999999999",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2025-02-30T00:00:00Z",
            "2025-01-02T03:04:05.123+99:00",
            "string",
            "base64",
            "hex",
            "admin",
            "vlist",
            "site",
            "key",
            "HS_ADMIN",
            "HS_SITE",
            "HS_PUBKEY",
            "HS_VLIST",
            "0.NA/88",
            "88/X",
            "1110",
            "=",
            "zz",
        ]
    ),
)
arbitrary_json = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    ["index", "type", "data", "format", "value", "ttl", "timestamp", "permissions", "handle"]
                ),
                st.text(max_size=6),
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


def _paths(document: Json, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a member or an item inside `document` (the document itself excluded)."""
    found: list[tuple[str | int, ...]] = []
    if isinstance(document, dict):
        for key, child in document.items():
            found += [(*path, key), *_paths(child, (*path, key))]
    elif isinstance(document, list):
        for position, child in enumerate(document):
            found += [(*path, position), *_paths(child, (*path, position))]
    return found


def _replaced(document: Json, path: tuple[str | int, ...], replacement: Json) -> Json:
    copy: Any = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = replacement
    return copy


@st.composite
def damaged_values(draw: st.DrawFn) -> Json:
    """A valid encoded value with one member or item, at any depth, replaced by arbitrary JSON."""
    document: Json = encode_value(draw(handle_values), with_permissions=draw(st.booleans()))
    path = draw(st.sampled_from(_paths(document)))
    return _replaced(document, path, draw(arbitrary_json))


def _decoders() -> list[Any]:
    return [
        lambda document: decode_value(document, clock=clock),
        lambda document: decode_values(document, clock=clock),
        lambda document: decode_put_body(document, clock=clock),
        lambda document: decode_resolution(document, clock=clock),
    ]


DECODERS = pytest.mark.parametrize("decode", _decoders(), ids=["value", "values", "put-body", "resolution"])


@DECODERS
@given(document=arbitrary_json)
def test_decoding_arbitrary_json_fails_only_with_codec_error(decode: Any, document: Json) -> None:
    with contextlib.suppress(CodecError):
        decode(document)


@given(document=damaged_values())
def test_a_damaged_value_decodes_or_fails_only_with_codec_error(document: Json) -> None:
    pointers = []
    for decode in _decoders():
        for shape in (document, [document], {"values": [document]}):
            try:
                decode(shape)
            except CodecError as error:
                pointers.append(error.pointer)
    # Each refusal names where, as a JSON pointer (the empty pointer being the whole body).
    assert all(pointer == "" or pointer.startswith("/") for pointer in pointers), pointers


@given(body=st.binary(max_size=200))
def test_parsing_arbitrary_bytes_fails_only_with_codec_error(body: bytes) -> None:
    with contextlib.suppress(CodecError):
        parse_json(body)


@given(text=st.text(st.sampled_from('[]{}",:0123456789.eE+-truefalsnNIity \\'), max_size=60))
def test_parsing_json_shaped_text_fails_only_with_codec_error(text: str) -> None:
    with contextlib.suppress(CodecError):
        parse_json(text)


_offsets = st.builds("{}{:02d}:{:02d}".format, st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59))
_timestamp_texts = st.one_of(
    st.text(max_size=40),
    st.builds(
        "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{}".format,
        st.sampled_from([0, 1, 9999]) | st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.sampled_from(["", ".5", ".123456789"]),
        st.sampled_from(["", "Z", "+99:99"]) | _offsets,
    ),
)


@given(text=_timestamp_texts)
@example(text="0001-01-01T00:00:00+01:00")  # valid, but an hour before year 1 in UTC
@example(text="9999-12-31T23:59:59-01:00")  # valid, but in year 10000 in UTC
def test_timestamps_parse_or_fail_only_with_codec_error(text: str) -> None:
    try:
        moment = parse_timestamp(text)
    except CodecError:
        return
    assert moment.tzinfo is UTC


# --- round trips -----------------------------------------------------------------------------------------


def _wire(document: Json, pretty: bool) -> Json:
    return parse_json(dumps(document, pretty=pretty).encode("utf-8"))


@given(
    values=st.lists(handle_values, min_size=1, max_size=4, unique_by=lambda value: value.index),
    pretty=st.booleans(),
    shape=st.sampled_from(["values", "array", "one"]),
)
def test_every_put_body_shape_decodes_to_the_values_sent(
    values: list[HandleValue], pretty: bool, shape: str
) -> None:
    encoded = [encode_value(value, with_permissions=True) for value in values]
    body: Json = {"values": encoded} if shape == "values" else encoded if shape == "array" else encoded[0]
    decoded = decode_put_body(_wire(body, pretty), clock=clock)
    assert decoded.values == (tuple(values) if shape != "one" else (values[0],))


@given(value=handle_values)
def test_lenient_spellings_decode_to_the_same_value(value: HandleValue) -> None:
    document: Any = encode_value(value, with_permissions=True)
    document["index"] = str(document["index"])
    document["ttl"] = str(document["ttl"])
    document["data"]["format"] = document["data"]["format"].upper()
    if value.data.format is ValueFormat.STRING:
        document["data"] = document["data"]["value"]
    assert decode_value(_wire(document, False), clock=clock) == value


@given(value=handle_values)
def test_without_ttl_and_timestamp_the_defaults_apply(value: HandleValue) -> None:
    document: Any = encode_value(value)
    del document["ttl"], document["timestamp"]
    decoded = decode_value(document, clock=clock)
    assert (decoded.ttl, decoded.timestamp) == (86400, T1)
    assert (decoded.index, decoded.type, decoded.data) == (value.index, value.type, value.data)


@given(values=st.lists(handle_values, max_size=4, unique_by=lambda value: value.index))
def test_a_resolution_read_back_echoes_the_handle_exactly(values: list[HandleValue]) -> None:
    answer = decode_resolution(_wire(encode_resolution("88.186.1/aBc", values), True), clock=clock)
    assert answer.handle == "88.186.1/aBc"
    assert [(value.index, value.type, value.data) for value in answer.values] == [
        (value.index, value.type, value.data) for value in values
    ]


# --- identifiers -----------------------------------------------------------------------------------------

_segment = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
    min_size=1,
    max_size=8,
)
prefixes = (
    st.lists(_segment, min_size=1, max_size=5).map(".".join).filter(lambda text: text.upper() != "0.NA")
)
_suffix_chars = st.characters(
    exclude_categories=("Cs",), exclude_characters=[chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))]
)
suffixes = st.text(_suffix_chars, min_size=1, max_size=60).filter(lambda text: len(text.encode()) <= 255)


def _swap_ascii_case(text: str, mask: list[bool]) -> str:
    return "".join(
        char.swapcase() if char.isascii() and char.isalpha() and flip else char
        for char, flip in zip(text, mask + [False] * len(text), strict=False)
    )


@given(prefix=prefixes, suffix=suffixes)
def test_a_handle_is_echoed_exactly_and_survives_the_url_path(prefix: str, suffix: str) -> None:
    text = f"{prefix}/{suffix}"
    handle = parse_handle(text)
    assert (str(handle), handle.prefix.text, handle.suffix) == (text, prefix, suffix)
    from_path = parse_handle_from_path(quote(text, safe=""))
    assert from_path.text == text
    assert from_path == handle
    assert percent_decode(quote(text, safe="/")) == text


@given(prefix=prefixes, suffix=suffixes, mask=st.lists(st.booleans(), max_size=80))
def test_comparison_folds_ascii_letters_only(prefix: str, suffix: str, mask: list[bool]) -> None:
    text = f"{prefix}/{suffix}"
    variant = _swap_ascii_case(text, mask)
    assert parse_handle(variant) == parse_handle(text)
    assert hash(parse_handle(variant)) == hash(parse_handle(text))
    assert parse_handle(variant).text == variant  # each keeps its own spelling
    assert parse_prefix(_swap_ascii_case(prefix, mask)) == parse_prefix(prefix)


@given(prefix=prefixes, suffix=suffixes, other=suffixes)
def test_equal_exactly_when_the_ascii_folds_are_equal(prefix: str, suffix: str, other: str) -> None:
    first, second = parse_handle(f"{prefix}/{suffix}"), parse_handle(f"{prefix}/{other}")
    assert (first == second) == (fold_ascii(suffix) == fold_ascii(other))


@pytest.mark.parametrize(("lower", "upper"), [("é", "É"), ("ß", "SS"), ("ı", "I"), ("ǅ", "ǆ")])
def test_non_ascii_letters_never_fold(lower: str, upper: str) -> None:
    assert parse_handle(f"88/{lower}") != parse_handle(f"88/{upper}")


def _parse_everything(text: str) -> None:
    for parse, error in (
        (parse_handle, InvalidHandle),
        (parse_value_reference, InvalidHandle),
        (parse_mint_base, InvalidHandle),
        (parse_handle_from_path, InvalidHandle),
        (percent_decode, InvalidHandle),
        (parse_prefix, InvalidPrefix),
    ):
        with contextlib.suppress(error):
            parse(text)


@given(text=st.text(max_size=80))
def test_parsing_arbitrary_text_fails_only_with_the_documented_error(text: str) -> None:
    _parse_everything(text)


@given(text=st.text(st.sampled_from("0123456789.aZ-_/:%2Fé\x00\x7f\ud800 "), max_size=30))
def test_parsing_handle_shaped_text_fails_only_with_the_documented_error(text: str) -> None:
    _parse_everything(text)


# The limits count bytes of UTF-8: 1-, 2-, 3- and 4-byte characters.
_sized_chars = st.sampled_from(["a", "é", "€", "𝄞"])


@given(prefix=prefixes, chars=st.lists(_sized_chars, min_size=1, max_size=140))
def test_the_suffix_limit_counts_bytes_of_utf8(prefix: str, chars: list[str]) -> None:
    suffix = "".join(chars)
    size = len(suffix.encode("utf-8"))
    text = f"{prefix}/{suffix}"
    if size <= MAX_SUFFIX_BYTES:
        assert parse_handle(text).suffix == suffix
        assert parse_mint_base(text)[1] == suffix
    else:
        with pytest.raises(InvalidHandle, match=f"{size} bytes"):
            parse_handle(text)
        with pytest.raises(InvalidHandle, match=f"{size} bytes"):
            parse_mint_base(text)


@given(length=st.integers(1, 2 * MAX_PREFIX_LENGTH))
def test_the_prefix_limit(length: int) -> None:
    text = ".".join(["8"] * ((length + 1) // 2))[:length].rstrip(".") or "8"
    if len(text) <= MAX_PREFIX_LENGTH:
        assert parse_prefix(text).text == text
        assert parse_handle(f"{text}/X").prefix.text == text
    else:
        with pytest.raises(InvalidPrefix, match="characters long"):
            parse_prefix(text)
        with pytest.raises(InvalidHandle):
            parse_handle(f"{text}/X")


@given(index=st.integers(0, 2**40), prefix=prefixes, suffix=suffixes)
def test_a_value_reference_splits_at_an_all_digit_index(index: int, prefix: str, suffix: str) -> None:
    handle = f"{prefix}/{suffix}"
    if index <= 2**31 - 1:
        assert parse_value_reference(f"{index}:{handle}") == (index, parse_handle(handle))
    else:
        with pytest.raises(InvalidHandle, match="larger than"):
            parse_value_reference(f"{index}:{handle}")
