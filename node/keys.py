"""The typed keys under which the node keeps its shared resources in the aiohttp application, declared once."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from node.context import NodeContext
from node.notify import Notifier
from node.pact import PactService
from node.pact_responder import PactResponder

NODE_KEY: Final = web.AppKey("NODE_KEY", NodeContext)
"""The node's settings, identity, templates, store and secret checker, made in a cleanup context."""

NOTIFIER_KEY: Final = web.AppKey("NOTIFIER_KEY", Notifier)
"""Sends resolvers the notifications of published records, in the background; made in a cleanup context."""

PACT_KEY: Final = web.AppKey("PACT_KEY", PactService)
"""The PACT API's settings, storage and clock; made in a cleanup context."""

PACT_RESPONDER_KEY: Final = web.AppKey("PACT_RESPONDER_KEY", PactResponder)
"""Answers queued PACT footprint requests in the background; made (and cancelled) in a cleanup context."""
