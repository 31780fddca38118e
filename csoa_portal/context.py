"""Where the current write comes from (session, token, command), for the audit log.

Set by the request middleware and the token authentication, or by a management command;
read by ``audit.record`` so services need not thread it through every call.
"""

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Origin:
    via: str = "system"
    token_id: int | None = None
    session_ref: str = ""
    ip_address: str = ""
    organisation_code: str = ""


_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar("csoa_origin", default=Origin())


def current_origin() -> Origin:
    return _origin.get()


def set_origin(origin: Origin) -> contextvars.Token:
    return _origin.set(origin)


def reset_origin(token: contextvars.Token) -> None:
    _origin.reset(token)


def update_origin(**changes) -> None:
    _origin.set(replace(_origin.get(), **changes))


@contextmanager
def origin(**fields):
    token = _origin.set(Origin(**fields))
    try:
        yield
    finally:
        _origin.reset(token)
