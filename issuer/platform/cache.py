"""Bounded in-process caches, one set per app, for answers that cost much to compute and little to re-check.

A cache here never decides on its own that an entry is still right: whoever stores a value stores with it
what must be re-read to know that (a status list's state, the key epoch, a row's columns), and compares
before using it. There is no time-to-live to tune and no invalidation to forget, so a change made by any
worker or any process shows in the very next answer.

The caches live in ``app.extensions``: each gunicorn worker has its own, and two apps in one process (the
tests build one per database) never answer from each other's entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from flask import current_app

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_EXTENSION = "issuer.caches"


class LRUCache(Generic[K, V]):
    """A map of at most ``size`` entries that forgets the least recently used first.

    Locked, because the development server and threaded workers serve requests concurrently.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def app_cache(name: str, size: int) -> LRUCache[Any, Any]:
    """The current app's cache called ``name``, made on first use with room for ``size`` entries."""
    caches: dict[str, LRUCache[Any, Any]] = current_app.extensions.setdefault(_EXTENSION, {})
    cache = caches.get(name)
    if cache is None:
        cache = caches.setdefault(name, LRUCache(size))
    return cache
