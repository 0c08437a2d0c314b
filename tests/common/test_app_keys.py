from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiohttp import web

from common.app_keys import SETTINGS_KEY, settings_of


@dataclass(frozen=True, slots=True)
class SomeSettings:
    name: str


def test_settings_of_returns_the_settings_typed() -> None:
    app = web.Application()
    app[SETTINGS_KEY] = SomeSettings("node")
    assert settings_of(app, SomeSettings) == SomeSettings("node")


def test_settings_of_refuses_another_class() -> None:
    app = web.Application()
    app[SETTINGS_KEY] = "not settings"
    with pytest.raises(TypeError, match="settings are a str, not a SomeSettings"):
        settings_of(app, SomeSettings)
