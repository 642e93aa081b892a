"""The audio LRU cache: bounds, recency and counters."""

from __future__ import annotations

from voice_server.cache import AudioCache, cache_key


def test_key_is_stable_and_order_independent() -> None:
    assert cache_key(text="hi", seed=1) == cache_key(seed=1, text="hi")
    assert cache_key(text="hi", seed=1) != cache_key(text="hi", seed=2)


def test_hit_and_miss_are_counted() -> None:
    cache = AudioCache(max_entries=4, max_bytes=1000)
    assert cache.get("a") is None
    cache.put("a", b"xyz")
    assert cache.get("a") == b"xyz"
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


def test_entry_bound_evicts_least_recently_used() -> None:
    cache = AudioCache(max_entries=2, max_bytes=1000)
    cache.put("a", b"1")
    cache.put("b", b"2")
    cache.get("a")  # a is now the most recent
    cache.put("c", b"3")
    assert cache.get("b") is None
    assert cache.get("a") == b"1"
    assert cache.stats.evictions == 1


def test_byte_bound_evicts_until_it_fits() -> None:
    cache = AudioCache(max_entries=100, max_bytes=10)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    cache.put("c", b"123")
    assert cache.size_bytes <= 10
    assert cache.get("a") is None
    assert cache.get("c") == b"123"


def test_oversized_value_is_not_stored_and_flushes_nothing() -> None:
    cache = AudioCache(max_entries=10, max_bytes=10)
    cache.put("small", b"12")
    assert cache.put("huge", b"x" * 11) is False
    assert cache.get("small") == b"12"


def test_replacing_a_key_keeps_byte_count_right() -> None:
    cache = AudioCache(max_entries=10, max_bytes=100)
    cache.put("a", b"x" * 10)
    cache.put("a", b"x" * 4)
    assert cache.size_bytes == 4
    assert len(cache) == 1


def test_disabled_cache_stores_nothing() -> None:
    cache = AudioCache(max_entries=0, max_bytes=100)
    assert cache.put("a", b"1") is False
    assert cache.get("a") is None
