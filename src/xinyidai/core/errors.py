"""One error hierarchy for every capability.

Each error carries an English message id with ``%(name)s`` placeholders and its parameters; the web
layer translates it (zh-CN by default) and turns it into problem+json (RFC 9457) or a friendly page.
No ``HTTPException`` below ``web/``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class XydError(Exception):
    """Base class: a business error a person can act on."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Request could not be processed"
    # True when what the request wrote before the error must be kept (e.g. the record of a refused look)
    keep_changes: ClassVar[bool] = False

    def __init__(self, message: str | None = None, /, *, field: str | None = None, **params: Any) -> None:
        self.message = message or self.title
        self.params = params
        self.field = field
        super().__init__(self.message % params if params else self.message)


class ValidationFailed(XydError):
    status = 422
    code = "validation_failed"
    title = "The submitted data is invalid"


class NotFound(XydError):
    status = 404
    code = "not_found"
    title = "The requested resource does not exist"


class PermissionDenied(XydError):
    status = 403
    code = "forbidden"
    title = "You do not have permission to do this"


class AuthenticationRequired(XydError):
    status = 401
    code = "unauthenticated"
    title = "Please log in first"


class AuthenticationFailed(XydError):
    status = 401
    code = "login_failed"
    title = "Incorrect username or password"


class AccountLocked(XydError):
    status = 423
    code = "account_locked"
    title = "The account is locked"


class Conflict(XydError):
    status = 409
    code = "conflict"
    title = "The request conflicts with the current state"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "This action is not allowed in the current state"


class CsrfFailed(XydError):
    status = 403
    code = "csrf_failed"
    title = "The form has expired or was not submitted from this site; please reload the page and try again"
