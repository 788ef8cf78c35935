"""Rate limits on public endpoints, counted in the database so that every worker process shares one count.

A fixed window per (limit, client address): the first request of a window inserts its counter, later ones add
to it, and a request past the limit is refused with 429 and ``Retry-After`` (the seconds until the window ends).
Counting runs on a connection of its own, committed at once: it is not part of the request's transaction, so a
request that only reads writes nothing of its own, and a refused request never waits for one that is working.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from issuer.errors import TooManyRequests
from issuer.extensions import db
from issuer.models import RateWindow
from issuer.platform.audit import client_address

F = TypeVar("F", bound=Callable[..., Any])

_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit | None:
        """``"60/minute"``, ``"10/30 seconds"``; ``"0"`` or an empty text turns the limit off (None)."""
        if not text or text.strip() in ("0", "off", "none"):
            return None
        match = _LIMIT.match(text.lower())
        if match is None:
            raise ValueError(f"unreadable rate limit {text!r}: write it like '60/minute' or '10/30 seconds'")
        count, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
        if count < 1 or multiple < 1:
            raise ValueError(f"unreadable rate limit {text!r}: count and period must be positive")
        return cls(count=count, seconds=multiple * _UNITS[unit])


def _upsert(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert
        statement: Any = postgresql_insert(RateWindow)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        statement = sqlite_insert(RateWindow)
    return statement.on_conflict_do_update(
        index_elements=[RateWindow.key, RateWindow.window_start],
        set_={"hits": RateWindow.hits + 1},
    ).returning(RateWindow.hits)


def hit(name: str, address: str, limit: Limit, *, now: float | None = None) -> int | None:
    """Count one request; None if it is within ``limit``, else the seconds until the window ends."""
    now = time.time() if now is None else now
    start = int(now // limit.seconds) * limit.seconds
    key = f"{name}:{address}"[:200]
    engine = db.engine
    with engine.begin() as connection:
        hits = connection.execute(_upsert(engine), {"key": key, "window_start": start, "hits": 1}).scalar_one()
        if hits == 1:  # a new window for this client: windows that have ended are of no more use to anyone
            connection.execute(delete(RateWindow).where(RateWindow.window_start < start - limit.seconds))
    if hits <= limit.count:
        return None
    return max(1, math.ceil(start + limit.seconds - now))


def rate_limited(name: str, setting: str) -> Callable[[F], F]:
    """Refuse a client's requests to the decorated view past the limit in ``app.config[setting]``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            limit = Limit.parse(str(current_app.config.get(setting) or ""))
            if limit is not None:
                retry_after = hit(name, client_address() or "unknown", limit)
                if retry_after is not None:
                    raise TooManyRequests(
                        f"Too many requests from your address: at most {limit.count} every "
                        f"{_period(limit.seconds)}. Try again in {retry_after} seconds.",
                        retry_after=retry_after)
            return view(*args, **kwargs)

        return cast(F, limited)

    return decorate


def _period(seconds: int) -> str:
    for unit in ("day", "hour", "minute"):
        size = _UNITS[unit]
        if seconds % size == 0:
            n = seconds // size
            return unit if n == 1 else f"{n} {unit}s"
    return f"{seconds} seconds"
