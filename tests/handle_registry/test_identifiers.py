"""Handle and prefix syntax: what is accepted, what is refused and why, and how handles compare."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handle_registry.identifiers import (
    MAX_SUFFIX_BYTES,
    Handle,
    InvalidHandle,
    InvalidPrefix,
    Prefix,
    parse_handle,
    parse_handle_from_path,
    parse_mint_base,
    parse_prefix,
    parse_value_reference,
    percent_decode,
)


@pytest.mark.parametrize(
    ("text", "prefix", "suffix"),
    [
        ("88.186.1/CICES.5626", "88.186.1", "CICES.5626"),
        ("0.NA/88.186.1", "0.NA", "88.186.1"),
        ("88/x", "88", "x"),
        ("88.186.1/a/b/c", "88.186.1", "a/b/c"),  # split at the first slash only
        ("88.186.1/碳足迹-2025", "88.186.1", "碳足迹-2025"),
        ("20.500.12345/ß é", "20.500.12345", "ß é"),
        ("a-b_C.9/~!@#$%^&*()", "a-b_C.9", "~!@#$%^&*()"),
    ],
)
def test_valid_handles_keep_their_parts_exactly(text: str, prefix: str, suffix: str) -> None:
    handle = parse_handle(text)
    assert handle.text == text
    assert str(handle) == text
    assert handle.prefix.text == prefix
    assert handle.suffix == suffix


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "handle is empty"),
        ("88.186.1", "no '/'"),
        ("/x", "empty prefix"),
        ("88.186.1/", "empty suffix"),
        ("88..1/x", "empty segment 2 at position 3"),
        (".88/x", "empty segment 1 at position 0"),
        ("88./x", "empty segment 2 at position 3"),
        ("88 .1/x", "U+0020 at position 2"),
        ("88.é/x", "'é' at position 3"),
        ("88.186.1/a\x00b", "control character U+0000 at position 10"),
        ("88.186.1/a\x1fb", "control character U+001F at position 10"),
        ("88.186.1/a\tb", "control character U+0009"),
        ("88.186.1/a\x7fb", "control character U+007F"),
        ("88.186.1/a\x85b", "control character U+0085"),  # C1
        ("88.186.1/a\x9fb", "control character U+009F"),
        ("88.186.1/a\ud800", "lone surrogate U+D800"),
        ("0.NA/not a prefix", "does not name a prefix"),
        ("0.NA/88.186.1/x", "does not name a prefix"),
    ],
)
def test_invalid_handles_say_what_and_where(text: str, fragment: str) -> None:
    with pytest.raises(InvalidHandle) as caught:
        parse_handle(text)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_suffix_limit_is_255_bytes_of_utf8_not_characters() -> None:
    two_byte = "é" * 127 + "a"  # 255 bytes
    three_byte = "碳" * 85  # 255 bytes
    assert len(two_byte.encode()) == len(three_byte.encode()) == MAX_SUFFIX_BYTES
    assert parse_handle(f"88/{two_byte}").suffix == two_byte
    assert parse_handle(f"88/{three_byte}").suffix == three_byte
    for over in (two_byte + "a", three_byte + "a", "x" * 256):
        with pytest.raises(InvalidHandle, match="suffix of 256 bytes of UTF-8, at most 255"):
            parse_handle(f"88/{over}")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "prefix is empty"),
        ("88/1", "contains '/' at position 2"),
        ("88.1 ", "U+0020 at position 4"),
        ("88.\t1", "U+0009 at position 3"),
        ("88..1", "empty segment 2"),
        ("88.", "empty segment 2"),
        ("88.1é", "'é' at position 4"),
        ("8" * 256, "256 characters long"),
    ],
)
def test_invalid_prefixes(text: str, fragment: str) -> None:
    with pytest.raises(InvalidPrefix) as caught:
        parse_prefix(text)
    assert fragment in str(caught.value)


def test_errors_are_value_errors() -> None:
    assert issubclass(InvalidHandle, ValueError)
    assert issubclass(InvalidPrefix, ValueError)


def test_comparison_folds_ascii_only_and_echo_is_exact() -> None:
    lower = parse_handle("88.186.1/act.2025")
    upper = parse_handle("88.186.1/ACT.2025")
    assert lower == upper
    assert hash(lower) == hash(upper)
    assert lower.key == upper.key == "88.186.1/ACT.2025"
    assert (lower.text, upper.text) == ("88.186.1/act.2025", "88.186.1/ACT.2025")
    assert {lower: "x"}[upper] == "x"
    # Only a-z fold: ß is not SS and é is not É, as on the Handle server.
    assert parse_handle("88/straße") != parse_handle("88/STRASSE")
    assert parse_handle("88/é") != parse_handle("88/É")
    assert parse_prefix("0.na") == parse_prefix("0.NA")
    assert parse_handle("88/x") != "88/x"


def test_prefix_hierarchy() -> None:
    prefix = parse_prefix("88.186.1")
    assert prefix.segments == ("88", "186", "1")
    assert prefix.parent == parse_prefix("88.186")
    assert parse_prefix("88").parent is None
    assert prefix.ancestors() == (Prefix("88.186"), Prefix("88"))
    assert prefix.ancestors(include_self=True) == (Prefix("88.186.1"), Prefix("88.186"), Prefix("88"))
    assert [p.text for p in parse_prefix("88.A.b").ancestors()] == ["88.A", "88"]
    assert prefix.is_below(parse_prefix("88"))
    assert prefix.is_below(parse_prefix("88.186"))
    assert not prefix.is_below(prefix)
    assert not parse_prefix("88.1861").is_below(parse_prefix("88.186"))
    assert not parse_prefix("88").is_below(prefix)


def test_prefix_records_and_admin_handles() -> None:
    prefix = parse_prefix("88.186.1")
    record = prefix.record_handle
    assert record.text == "0.NA/88.186.1"
    assert record.is_prefix_record
    assert record.record_prefix == prefix
    assert parse_handle("0.na/88.186.1").is_prefix_record
    assert prefix.admin_handle.text == "88.186.1/ADMIN"
    assert prefix.admin_handle.is_admin_handle
    assert parse_handle("88.186.1/admin").is_admin_handle
    handle = prefix.handle("CICES.5626")
    assert handle == parse_handle("88.186.1/cices.5626")
    assert handle.admin_handle == prefix.admin_handle
    assert not handle.is_prefix_record
    with pytest.raises(InvalidHandle, match="is not a prefix record"):
        _ = handle.record_prefix


def test_constructors_validate_like_the_parsers() -> None:
    with pytest.raises(InvalidHandle):
        Handle("no-slash")
    with pytest.raises(InvalidPrefix):
        Prefix("a..b")


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("88.186.1%2FCICES.5626", "88.186.1/CICES.5626"),
        ("88.186.1/A%2BB", "88.186.1/A+B"),
        ("88.186.1/A+B", "88.186.1/A+B"),  # a plus stays a plus
        ("88/%E7%A2%B3", "88/碳"),
        ("88/%e7%a2%b3", "88/碳"),
        ("88/plain", "88/plain"),
    ],
)
def test_percent_decoding_of_path_handles(raw: str, decoded: str) -> None:
    assert percent_decode(raw) == decoded
    assert parse_handle_from_path(raw).text == decoded


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("88/%zz", "bad percent-escape '%zz' at position 3"),
        ("88/%4", "bad percent-escape '%4' at position 3"),
        ("88/%", "bad percent-escape '%' at position 3"),
        ("88/%FF", "do not form UTF-8"),
    ],
)
def test_bad_percent_escapes_are_refused(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidHandle) as caught:
        percent_decode(raw)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("text", "index", "handle"),
    [
        ("300:88.186.1/ADMIN", 300, "88.186.1/ADMIN"),
        ("88.186.1/ADMIN", 0, "88.186.1/ADMIN"),
        ("0:88/x", 0, "88/x"),
        ("88/a:b", 0, "88/a:b"),  # not digits before the colon: all of it is the handle
        ("300:88/a:b", 300, "88/a:b"),
        ("200:0.NA/88.186.1", 200, "0.NA/88.186.1"),
    ],
)
def test_value_references_as_the_server_reads_them(text: str, index: int, handle: str) -> None:
    assert parse_value_reference(text) == (index, parse_handle(handle))


def test_bad_value_references() -> None:
    with pytest.raises(InvalidHandle, match="larger than 2147483647"):
        parse_value_reference("99999999999:88/ADMIN")
    with pytest.raises(InvalidHandle, match="no '/'"):
        parse_value_reference("300:ADMIN")


def test_mint_bases() -> None:
    assert parse_mint_base("88.186.1/") == (Prefix("88.186.1"), "")
    assert parse_mint_base("88.186.1/ACT.") == (Prefix("88.186.1"), "ACT.")
    for bad, fragment in [("88.186.1", "must be '<prefix>/'"), ("/x", "must be"), ("8 8/", "invalid prefix")]:
        with pytest.raises(InvalidHandle, match=fragment):
            parse_mint_base(bad)
    with pytest.raises(InvalidHandle, match="control character"):
        parse_mint_base("88/a\x00")


_segment = st.text(alphabet="abcXYZ019-_", min_size=1, max_size=6)
prefixes = (
    st.lists(_segment, min_size=1, max_size=4).map(".".join).filter(lambda text: not Prefix(text).is_na)
)
suffixes = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=80).filter(
    lambda text: len(text.encode()) <= MAX_SUFFIX_BYTES
)


@given(prefixes, suffixes)
def test_parse_then_str_is_identity(prefix: str, suffix: str) -> None:
    text = f"{prefix}/{suffix}"
    handle = parse_handle(text)
    assert str(handle) == text
    assert handle.prefix.text == prefix
    assert handle.suffix == suffix
    assert parse_handle(text.upper() if text.isascii() else text) == handle


@given(prefixes)
def test_every_ancestor_is_above(prefix_text: str) -> None:
    prefix = parse_prefix(prefix_text)
    for ancestor in prefix.ancestors():
        assert prefix.is_below(ancestor)
    assert len(prefix.ancestors(include_self=True)) == len(prefix.segments)
