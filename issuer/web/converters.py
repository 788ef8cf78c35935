"""URL converters."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

#: Primary keys are 32-bit INTEGER columns on PostgreSQL (and fit SQLite's 64-bit ones).
MAX_ID = 2**31 - 1


class DatabaseId(IntegerConverter):
    """``<int:…>`` limited to what an id column can hold: larger numbers do not match the route (404)."""

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]
