"""Shared fixtures for the template tests."""

import pytest

from metadata_templates import default_catalog


@pytest.fixture
def catalog():
    return default_catalog()
