"""Public answers replayed from memory after one query shows that what they rest on is unchanged.

The verification page, the status lists and ``POST /api/v1/verify`` send the same bytes to every anonymous
visitor for as long as the credential's row, its status lists and the issuer's keys stay as they were. A view
producing such an answer calls ``allow(validator)``; this WSGI middleware then keeps the response exactly as it
went out (status, every header including the security headers, body), and answers the next identical request
(same method, path, query, host, ``Accept``, content type and body) with those bytes if ``validator`` — one query
on the database — still says True. Flask, the session, the login manager and the template engine are not
involved in a replay; that is most of the cost of a cached verification.

Like ``issuer.platform.cache``, nothing here decides on its own that an answer is still right: the view that allowed
the replay supplies the check, and it runs on every replay, so a revocation or a key rotation made by any
worker shows in the very next answer. What is never replayed:

* requests with a ``Cookie`` or ``Authorization`` header (a signed-in page is someone's own), or with
  ``If-None-Match`` / ``If-Modified-Since`` (Flask answers 304s from the ETag);
* responses other than 200, or that set a cookie;
* anything a view did not allow.

Entries live per app and per process, in the app's cache ``platform.replay`` (bounded by count and by the bytes
of the bodies kept); this is the one cache of rendered responses. A failed check (even a database error) passes
the request on to Flask, which answers it afresh.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, request
from sqlalchemy import Connection

from issuer.platform import database
from issuer.platform.cache import BoundedCache, app_cache

log = logging.getLogger(__name__)

#: The check a view hands over with its answer: True while the answer would be the same.
Validator = Callable[[Connection], bool]

_ENVIRON_KEY = "issuer.platform.replay.validator"
#: Bodies read to look up a POST; larger requests go to Flask, which enforces its own limits.
MAX_BODY = 1024 * 1024
CACHE_SIZE = 1024
#: The bodies kept, all together (a verification page is ~10 KB, an API answer ~1 KB, a status list ~20 KB).
CACHE_BYTES = 16 * 1024 * 1024
#: What else, besides method, path and body, the answer could depend on.
_KEY_HEADERS = ("QUERY_STRING", "HTTP_HOST", "wsgi.url_scheme", "HTTP_ACCEPT", "CONTENT_TYPE",
                "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PREFIX", "SCRIPT_NAME")
_PERSONAL = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")


def allow(validator: Validator) -> None:
    """Let this request's response be replayed to identical anonymous requests while ``validator`` holds."""
    request.environ[_ENVIRON_KEY] = validator


@dataclass(frozen=True)
class _Stored:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    validator: Validator


class Replay:
    """The WSGI middleware: ``app.wsgi_app = Replay(app.wsgi_app, app)``."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], app: Flask, size: int = CACHE_SIZE,
                 max_bytes: int = CACHE_BYTES) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.stored: BoundedCache[tuple[Any, ...], _Stored] = app_cache("platform.replay", size, max_bytes, app=app)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = self._key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        stored = self.stored.get(key)
        if stored is not None and self._holds(stored):
            start_response(stored.status, list(stored.headers))
            return [stored.body]
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = self.wsgi_app(environ, capture)
        validator = environ.get(_ENVIRON_KEY)
        if validator is None or not captured or not captured[0].startswith("200 "):
            return body
        status, headers = captured
        if any(name.lower() == "set-cookie" for name, _ in headers):
            return body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        size = len(data) + sum(len(name) + len(value) + 64 for name, value in headers) + 1024
        self.stored.put(key, _Stored(status, list(headers), data, validator), size=size)
        return [data]

    def _key(self, environ: dict[str, Any]) -> tuple[Any, ...] | None:
        """The request's identity for replay, or None if it must go to Flask."""
        method = environ.get("REQUEST_METHOD", "")
        if method not in ("GET", "POST") or any(environ.get(name) for name in _PERSONAL):
            return None
        path = environ.get("PATH_INFO", "")
        context = tuple(environ.get(name) for name in _KEY_HEADERS)
        if method == "GET":
            return (method, path, context)
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= MAX_BODY:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it again on a miss
        if len(body) != length:
            return None
        return (method, path, context, hashlib.sha256(body).digest())

    def _holds(self, stored: _Stored) -> bool:
        try:
            with self.app.app_context(), database.state_connection() as connection:
                return bool(stored.validator(connection))
        except Exception:  # a check that cannot run is a miss: Flask answers, and reports any real failure
            log.warning("replay check failed; answering afresh", exc_info=True)
            return False
