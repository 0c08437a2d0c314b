"""The enterprise node: publishes signed carbon records under its prefix and answers the Handle REST API.

Transport: `app` (create_app, TLS context), `handles` (the Handle REST routes, Handle JSON), `records_api`
(records, grants, log, DID document; problem+json), `callers` (who is calling), `openapi`, `keys` (AppKeys).
Use-cases: `handle_service` (resolve, write, delete, list, the admin handle), `records` (publish, read,
list, grants), `access` (admin credentials, visibility), `registry_client` (applying for the prefix),
`runtime` (running them outside the server). Storage: `repository` (the one store), `schema` (tables and
migrations). Pure: `log` (the hash-chained publication log and `verify_log`). `settings`, `context`.
"""
