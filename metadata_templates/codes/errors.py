"""The one error of the reference code tables."""

from __future__ import annotations


class CodeError(ValueError):
    """A code is malformed, fails its check digit, or names nothing in its table.

    The message says exactly why, in words an enterprise user can act on, for example
    ``region code 339999: no such county in GB/T 2260 (city 3399 does not exist)``.
    `code` is the code as the caller gave it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
