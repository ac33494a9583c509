"""Qingling's one error tree. server/http/errors.py maps it to HTTP (the only place that maps).

    QinglingError                      500 internal
     ├── BadRequest                    400 invalid | invalid_date | common_password
     │                                     | invalid_token
     ├── Unauthenticated               401 unauthenticated | invalid_credentials | token_expired
     ├── Forbidden                     403 forbidden | device_revoked
     ├── NotFound                      404 not_found | no_such_incident
     ├── StateConflict                 409 invalid_state | device_in_use | not_closed
     │                                     | already_rated | no_callback_task
     ├── Gone                          410 expired
     ├── PayloadTooLarge               413 too_large
     ├── Unprocessable                 422 invalid_time | unknown_station | unknown_person
     ├── Throttled                     429 too_many_attempts   (Retry-After)
     └── Unavailable                   503 unavailable         (Retry-After)

Each error carries its HTTP status and a machine-readable code; every error body is
{"code": str, "message": str}.
"""

from __future__ import annotations


class QinglingError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(QinglingError):
    status = 400
    code = "invalid"


class Unauthenticated(QinglingError):
    status = 401
    code = "unauthenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(QinglingError):
    status = 403
    code = "forbidden"


class NotFound(QinglingError):
    status = 404
    code = "not_found"


class StateConflict(QinglingError):
    status = 409
    code = "invalid_state"


class Gone(QinglingError):
    """What was asked for existed and is over for good (a rating link past its 7 days)."""

    status = 410
    code = "expired"


class PayloadTooLarge(QinglingError):
    status = 413
    code = "too_large"


class Unprocessable(QinglingError):
    status = 422
    code = "invalid"


class _RetryLater(QinglingError):
    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = max(1, int(retry_after_s))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class Throttled(_RetryLater):
    status = 429
    code = "too_many_attempts"


class Unavailable(_RetryLater):
    status = 503
    code = "unavailable"
