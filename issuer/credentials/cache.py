"""The one cache type of this service: a locked LRU map bounded by entry count and by approximate bytes.

Flask-free, so the pure core can own caches too (the document loader keeps its parsed contexts and expanded
nodes in these); ``issuer.platform.cache`` registers named ones per app.

Sizes are what the caller says an entry costs (``put(key, value, size=...)``); without one, ``bytes``,
``bytearray`` and ``str`` count their length and anything else counts ``default_size``. Nothing here walks a
stored object to measure it: that would cost more than most of the work being cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any, Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")

#: What an entry of unknown size counts for (a small object and its dict slot).
DEFAULT_ENTRY_SIZE = 256
_MISSING: Any = object()


def estimate_size(value: object, default: int = DEFAULT_ENTRY_SIZE) -> int:
    """A cheap size for ``value``: the length of bytes or text (plus a little), else ``default``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value) + 64
    if isinstance(value, str):
        return len(value) + 64
    return default


class BoundedCache(Generic[K, V]):
    """At most ``max_entries`` entries and ``max_bytes`` approximate bytes; the least recently used go first.

    Every method takes the one lock: the development server and threaded workers serve requests concurrently.
    An entry larger than ``max_bytes`` on its own is not kept at all. ``max_bytes=None`` bounds by count only
    (for entries of known small size).
    """

    def __init__(self, max_entries: int, max_bytes: int | None = None, *, default_size: int = DEFAULT_ENTRY_SIZE,
                 name: str = "") -> None:
        if max_entries < 0 or (max_bytes is not None and max_bytes < 0):
            raise ValueError("cache bounds must not be negative")
        self.name = name
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.default_size = default_size
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------------------------- reading

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: Any = None) -> Any:
        """The value under ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            entry = self._entries.get(key, _MISSING)
            if entry is _MISSING:
                return default
            self._entries.move_to_end(key)
            return entry[0]

    def __getitem__(self, key: K) -> V:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size(self) -> int:
        """The entry bound (``max_entries``)."""
        return self.max_entries

    @property
    def bytes(self) -> int:
        """The approximate bytes held: the sum of the entries' sizes."""
        with self._lock:
            return self._bytes

    def keys(self) -> list[K]:
        with self._lock:
            return list(self._entries)

    def values(self) -> list[V]:
        with self._lock:
            return [value for value, _ in self._entries.values()]

    def items(self) -> list[tuple[K, V]]:
        with self._lock:
            return [(key, value) for key, (value, _) in self._entries.items()]

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())

    # ----------------------------------------------------------------------------------------------- writing

    def put(self, key: K, value: V, size: int | None = None) -> bool:
        """Keep ``value`` under ``key``, evicting the least recently used beyond the bounds.

        Returns whether it was kept (False: it alone is larger than the byte bound).
        """
        cost = estimate_size(value, self.default_size) if size is None else max(0, int(size))
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if self.max_entries == 0 or (self.max_bytes is not None and cost > self.max_bytes):
                return False
            self._entries[key] = (value, cost)
            self._bytes += cost
            while self._entries and (len(self._entries) > self.max_entries
                                     or (self.max_bytes is not None and self._bytes > self.max_bytes)):
                _, (_, freed) = self._entries.popitem(last=False)
                self._bytes -= freed
            return True

    def __setitem__(self, key: K, value: V) -> None:
        self.put(key, value)

    def pop(self, key: K, default: Any = None) -> Any:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None:
                return default
            self._bytes -= entry[1]
            return entry[0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __repr__(self) -> str:
        return (f"<BoundedCache {self.name or ''} {len(self)}/{self.max_entries} entries, "
                f"{self.bytes}/{self.max_bytes} bytes>")
