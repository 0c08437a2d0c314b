"""Plumbing shared by the registry, node and resolver services, and nothing domain-specific.

``settings`` (documented frozen-dataclass settings from TOML and ``CARBONID_*`` variables), ``errors``
(problem+json), ``database`` (engines, transactions, migrations), ``logging`` (JSON lines, access log,
request ids) and ``app_keys`` (the typed application keys). Imports only the stdlib, aiohttp and SQLAlchemy.
"""
