"""Handles written inside documents follow the same syntax as the Handle protocol's parser.

metadata_templates sits below handle_registry, so it checks handle syntax with its own small rule;
this test keeps that rule and `handle_registry.identifiers` in agreement.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handle_registry.identifiers import InvalidHandle, InvalidPrefix, parse_handle, parse_prefix
from metadata_templates.validation import FormatProblem, check_handle, check_handle_prefix


def _accepts(check, text):
    try:
        check(text)
    except (FormatProblem, InvalidHandle, InvalidPrefix):
        return False
    return True


SAMPLES = [
    "88.186.1/CICES.5626",
    "0.NA/88.186.1",
    "88.186.1/碳效码 2025",
    "88.186.1/",
    "/suffix",
    "88..1/x",
    "88.186.1/a\x00b",
    "88.186.1/a\tb",
    "88.186.1/a\x85b",
    "88.186.1/" + "x" * 255,
    "88.186.1/" + "x" * 256,
    "88 186/x",
    "88.186.1/a/b",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_handle_samples_agree(text):
    assert _accepts(check_handle, text) == _accepts(parse_handle, text)


@settings(max_examples=300)
@given(
    st.text(st.sampled_from("0123456789.aZ-_/ \t\x00\x7f碳"), max_size=12),
)
def test_handles_agree(text):
    assert _accepts(check_handle, text) == _accepts(parse_handle, text)


@settings(max_examples=300)
@given(st.text(st.sampled_from("0123456789.aZ-_/ "), max_size=10))
def test_prefixes_agree(text):
    assert _accepts(check_handle_prefix, text) == _accepts(parse_prefix, text)
