"""The one cache type: bounded by entry count and by approximate bytes, least recently used out first, locked."""

from __future__ import annotations

import sys
import threading

import pytest

from issuer.credentials.cache import DEFAULT_ENTRY_SIZE, BoundedCache, estimate_size


def test_the_count_bound_forgets_the_least_recently_used() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(key, value)
    assert cache.get("a") == 1  # now the most recently used
    cache.put("d", 4)
    assert cache.keys() == ["c", "a", "d"]
    assert "b" not in cache
    assert len(cache) == 3


def test_the_byte_bound_evicts_until_the_sizes_fit() -> None:
    cache: BoundedCache[str, bytes] = BoundedCache(100, 1000)
    for n in range(4):
        assert cache.put(f"k{n}", b"x", size=300)
    assert cache.keys() == ["k1", "k2", "k3"]
    assert cache.bytes == 900
    cache.put("big", b"x", size=700)
    assert cache.keys() == ["k3", "big"]
    assert cache.bytes == 1000


def test_an_entry_larger_than_the_whole_bound_is_not_kept_and_replaces_nothing_else() -> None:
    cache: BoundedCache[str, bytes] = BoundedCache(10, 1000)
    cache.put("small", b"s", size=10)
    assert cache.put("huge", b"h" * 5000) is False
    assert "huge" not in cache
    assert cache.keys() == ["small"]
    assert cache.bytes == 10


def test_replacing_a_key_counts_only_its_new_size() -> None:
    cache: BoundedCache[str, str] = BoundedCache(10, 10_000)
    cache.put("k", "v", size=400)
    cache.put("k", "w", size=100)
    assert cache.get("k") == "w"
    assert cache.bytes == 100
    assert len(cache) == 1
    assert cache.pop("k") == "w"
    assert cache.bytes == 0
    assert cache.get("k", "none") == "none"


def test_sizes_are_estimated_cheaply_for_text_and_bytes_only() -> None:
    assert estimate_size(b"x" * 1000) > 1000
    assert estimate_size("y" * 1000) > 1000
    assert estimate_size({"a": "z" * 10_000}) == DEFAULT_ENTRY_SIZE  # never walks an object
    cache: BoundedCache[str, object] = BoundedCache(10, 3000)
    cache.put("text", "t" * 2000)
    cache.put("more", "m" * 2000)
    assert cache.keys() == ["more"]


def test_stored_none_is_found_and_a_missing_key_raises_on_index() -> None:
    cache: BoundedCache[str, None] = BoundedCache(2)
    cache["none"] = None
    assert "none" in cache
    assert cache["none"] is None
    with pytest.raises(KeyError):
        cache["missing"]


def test_bounds_must_not_be_negative_and_zero_keeps_nothing() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        BoundedCache(-1)
    nothing: BoundedCache[str, int] = BoundedCache(0)
    assert nothing.put("a", 1) is False
    assert len(nothing) == 0


def test_concurrent_puts_and_gets_keep_both_bounds_and_the_byte_count_exact() -> None:
    cache: BoundedCache[tuple[int, int], int] = BoundedCache(50, 5000)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            for n in range(2000):
                cache.put((worker, n % 97), n, size=37 + n % 13)
                value = cache.get((worker, (n * 7) % 97))
                assert value is None or isinstance(value, int)
                if n % 50 == 0:
                    cache.pop((worker, n % 97))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, inside the cache's methods too
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(cache) <= 50
    assert cache.bytes <= 5000
    assert cache.bytes == sum(cache._entries[key][1] for key in cache)  # no update was lost
