"""Handle protocol response codes and the HTTP status the REST JSON API gives each.

The codes are those of the message header's ResponseCode in RFC 3652, as numbered in the
Handle.Net server v9 (`net.handle.hdllib.AbstractMessage`). The HTTP mapping is that of the server's
`BaseHandleRequestProcessingServlet.statusCodeFromResponse`, so a client that looks at either
the status or the `responseCode` (pyhandle looks at both) sees what a Handle server would send.
"""

from __future__ import annotations

from enum import IntEnum


class ResponseCode(IntEnum):
    """A Handle protocol `responseCode`."""

    RESERVED = 0
    SUCCESS = 1
    ERROR = 2
    SERVER_TOO_BUSY = 3
    PROTOCOL_ERROR = 4
    OPERATION_NOT_SUPPORTED = 5
    RECURSION_COUNT_TOO_HIGH = 6
    SERVER_BACKUP = 7

    HANDLE_NOT_FOUND = 100
    HANDLE_ALREADY_EXISTS = 101
    INVALID_HANDLE = 102

    VALUES_NOT_FOUND = 200
    VALUE_ALREADY_EXISTS = 201
    INVALID_VALUE = 202

    EXPIRED_SITE_INFO = 300
    SERVER_NOT_RESPONSIBLE = 301
    SERVICE_REFERRAL = 302
    PREFIX_REFERRAL = 303

    INVALID_ADMIN = 400
    INSUFFICIENT_PERMISSIONS = 401
    AUTHENTICATION_NEEDED = 402
    AUTHENTICATION_FAILED = 403
    INVALID_CREDENTIAL = 404
    AUTHEN_TIMEOUT = 405
    AUTHEN_ERROR = 406

    SESSION_TIMEOUT = 500
    SESSION_FAILED = 501
    INVALID_SESSION_KEY = 502
    NEED_RSAKEY_FOR_SESSIONEXCHANGE = 503
    INVALID_SESSIONSETUP_REQUEST = 504
    SESSION_MESSAGE_REJECTED = 505


# Module-level names, so call sites read `response_codes.HANDLE_NOT_FOUND`.
SUCCESS = ResponseCode.SUCCESS
ERROR = ResponseCode.ERROR
SERVER_TOO_BUSY = ResponseCode.SERVER_TOO_BUSY
PROTOCOL_ERROR = ResponseCode.PROTOCOL_ERROR
OPERATION_NOT_SUPPORTED = ResponseCode.OPERATION_NOT_SUPPORTED
RECURSION_COUNT_TOO_HIGH = ResponseCode.RECURSION_COUNT_TOO_HIGH
SERVER_BACKUP = ResponseCode.SERVER_BACKUP
HANDLE_NOT_FOUND = ResponseCode.HANDLE_NOT_FOUND
HANDLE_ALREADY_EXISTS = ResponseCode.HANDLE_ALREADY_EXISTS
INVALID_HANDLE = ResponseCode.INVALID_HANDLE
VALUES_NOT_FOUND = ResponseCode.VALUES_NOT_FOUND
VALUE_ALREADY_EXISTS = ResponseCode.VALUE_ALREADY_EXISTS
INVALID_VALUE = ResponseCode.INVALID_VALUE
EXPIRED_SITE_INFO = ResponseCode.EXPIRED_SITE_INFO
SERVER_NOT_RESPONSIBLE = ResponseCode.SERVER_NOT_RESPONSIBLE
SERVICE_REFERRAL = ResponseCode.SERVICE_REFERRAL
PREFIX_REFERRAL = ResponseCode.PREFIX_REFERRAL
INVALID_ADMIN = ResponseCode.INVALID_ADMIN
INSUFFICIENT_PERMISSIONS = ResponseCode.INSUFFICIENT_PERMISSIONS
AUTHENTICATION_NEEDED = ResponseCode.AUTHENTICATION_NEEDED
AUTHENTICATION_FAILED = ResponseCode.AUTHENTICATION_FAILED
INVALID_CREDENTIAL = ResponseCode.INVALID_CREDENTIAL
AUTHEN_TIMEOUT = ResponseCode.AUTHEN_TIMEOUT
AUTHEN_ERROR = ResponseCode.AUTHEN_ERROR
SESSION_TIMEOUT = ResponseCode.SESSION_TIMEOUT
SESSION_FAILED = ResponseCode.SESSION_FAILED
INVALID_SESSION_KEY = ResponseCode.INVALID_SESSION_KEY
INVALID_SESSIONSETUP_REQUEST = ResponseCode.INVALID_SESSIONSETUP_REQUEST
SESSION_MESSAGE_REJECTED = ResponseCode.SESSION_MESSAGE_REJECTED

_DEFAULT_MESSAGES: dict[int, str] = {
    SUCCESS: "Success",
    ERROR: "Error",
    SERVER_TOO_BUSY: "Server too busy",
    PROTOCOL_ERROR: "Protocol error",
    OPERATION_NOT_SUPPORTED: "Operation not supported",
    RECURSION_COUNT_TOO_HIGH: "Recursion count too high",
    SERVER_BACKUP: "Server backup in progress",
    HANDLE_NOT_FOUND: "Handle not found",
    HANDLE_ALREADY_EXISTS: "Handle already exists",
    INVALID_HANDLE: "Invalid handle",
    VALUES_NOT_FOUND: "Values not found",
    VALUE_ALREADY_EXISTS: "Value already exists",
    INVALID_VALUE: "Invalid value",
    EXPIRED_SITE_INFO: "Expired site info",
    SERVER_NOT_RESPONSIBLE: "Server not responsible for handle",
    SERVICE_REFERRAL: "Service referral",
    PREFIX_REFERRAL: "Prefix referral",
    INVALID_ADMIN: "Not an administrator for this operation",
    INSUFFICIENT_PERMISSIONS: "Insufficient permissions",
    AUTHENTICATION_NEEDED: "Authentication needed",
    AUTHENTICATION_FAILED: "Authentication failed",
    INVALID_CREDENTIAL: "Invalid credential",
    AUTHEN_TIMEOUT: "Authentication timed out",
    AUTHEN_ERROR: "Authentication error",
    SESSION_TIMEOUT: "Session timed out",
    SESSION_FAILED: "Session failed",
    INVALID_SESSION_KEY: "Invalid session key",
    INVALID_SESSIONSETUP_REQUEST: "Invalid session setup request",
    SESSION_MESSAGE_REJECTED: "Session message rejected",
}

_STATUS: dict[int, int] = {
    HANDLE_NOT_FOUND: 404,
    HANDLE_ALREADY_EXISTS: 409,
    VALUE_ALREADY_EXISTS: 409,
    PROTOCOL_ERROR: 400,
    INVALID_HANDLE: 400,
    INVALID_VALUE: 400,
    # The server itself notes 400 is a stopgap for "not responsible"; clients rely on it now.
    SERVER_NOT_RESPONSIBLE: 400,
    OPERATION_NOT_SUPPORTED: 501,
    SERVER_TOO_BUSY: 503,
    SERVER_BACKUP: 503,
    AUTHENTICATION_NEEDED: 401,
    INVALID_ADMIN: 403,
    INSUFFICIENT_PERMISSIONS: 403,
    AUTHENTICATION_FAILED: 403,
    INVALID_CREDENTIAL: 403,
    SERVICE_REFERRAL: 300,
    PREFIX_REFERRAL: 300,
}


def default_message(code: int) -> str:
    """A short English description of `code`, for error bodies that have nothing more precise to say."""
    return _DEFAULT_MESSAGES.get(code, f"Response code {code}")


def http_status_for(code: int, *, created: bool = False, resolution: bool = False) -> int:
    """The HTTP status the Handle server sends with `responseCode` `code`.

    * 1 (success): 200, or 201 when `created`. The Handle server passes `created` exactly when the
      request was a create or add-values PUT with `overwrite=false` (a successful non-overwriting
      write necessarily created something); with the default `overwrite=true` it answers 200.
    * 200 (values not found): 200 for a resolution (`resolution=True`), 400 otherwise.
    * 100 → 404; 101, 201 → 409; 4, 102, 202, 301 → 400; 5 → 501; 3, 7 → 503; 402 → 401;
      400, 401, 403, 404 → 403; 302, 303 (referrals) → 300.
    * Every other code, 2 (error) included, → 500.
    """
    if code == SUCCESS:
        return 201 if created else 200
    if code == VALUES_NOT_FOUND:
        return 200 if resolution else 400
    return _STATUS.get(code, 500)
