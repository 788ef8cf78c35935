"""Bounded in-process caches, one set per app, for answers that cost much to compute and little to re-check.

There is one cache type, ``BoundedCache`` (``issuer.credentials.cache``, Flask-free so the pure core can use it
too): locked, LRU, bounded by entry count and by approximate bytes. ``app_cache(name, ...)`` is the current app's
cache of that name, made on first use; ``ISSUER_CACHE_LIMITS`` in the config (``{name: (entries, bytes)}``)
overrides the bounds the code asks for.

A cache here never decides on its own that an entry is still right: whoever stores a value stores with it
what must be re-read to know that (a status list's state, the key epoch, a row's columns), and compares
before using it. There is no time-to-live to tune and no invalidation to forget, so a change made by any
worker or any process shows in the very next answer.

The caches live in ``app.extensions``: each gunicorn worker has its own, and two apps in one process (the
tests build one per database) never answer from each other's entries. So does the app's JSON-LD document
loader (``document_loader()``), which owns the core's parsed-context, expanded-node and proof-template caches.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app

from issuer.credentials.cache import BoundedCache, estimate_size
from issuer.credentials.loader import OfflineDocumentLoader

__all__ = ["BoundedCache", "LRUCache", "app_cache", "caches_of", "document_loader", "estimate_size"]

#: The former name of the one cache type.
LRUCache = BoundedCache

_EXTENSION = "issuer.caches"
_LOADER = "issuer.document_loader"
_LOCK = threading.Lock()


def caches_of(app: Flask) -> dict[str, BoundedCache[Any, Any]]:
    """Every cache registered on ``app``, by name."""
    caches: dict[str, BoundedCache[Any, Any]] = app.extensions.setdefault(_EXTENSION, {})
    return caches


def app_cache(name: str, entries: int, max_bytes: int | None = None, *, app: Flask | None = None,
              default_size: int | None = None) -> BoundedCache[Any, Any]:
    """The app's cache called ``name``, made on first use with room for ``entries`` entries and ``max_bytes``
    approximate bytes (``ISSUER_CACHE_LIMITS[name]`` in the config overrides both)."""
    app = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    caches = caches_of(app)
    cache = caches.get(name)
    if cache is None:
        with _LOCK:
            cache = caches.get(name)
            if cache is None:
                limits = (app.config.get("ISSUER_CACHE_LIMITS") or {}).get(name)
                if limits is not None:
                    entries, max_bytes = limits
                extra = {} if default_size is None else {"default_size": default_size}
                cache = caches[name] = BoundedCache(entries, max_bytes, name=name, **extra)
    return cache


def document_loader(app: Flask | None = None) -> OfflineDocumentLoader:
    """The app's offline JSON-LD loader: the vendored contexts, with the core's caches bounded per app."""
    app = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    loader: OfflineDocumentLoader | None = app.extensions.get(_LOADER)
    if loader is None:
        with _LOCK:
            loader = app.extensions.setdefault(_LOADER, OfflineDocumentLoader())
    return loader
