"""A bounded LRU cache of synthesised audio for repeated deterministic requests."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


def cache_key(**parts: Any) -> str:
    """A stable key for a request: the SHA-256 of its canonical JSON form."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class CacheStats:
    """Counters exported as metrics."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0


class AudioCache:
    """LRU bounded both by entry count and by total bytes; thread-safe.

    An entry larger than the byte bound is not stored at all, so one long request cannot flush
    the whole cache.
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        """Bytes currently held."""
        return self._bytes

    def get(self, key: str) -> bytes | None:
        """The cached value, marked most recently used; None counts as a miss."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return value

    def put(self, key: str, value: bytes) -> bool:
        """Store ``value``, evicting least recently used entries; False if it cannot fit at all."""
        if self.max_entries == 0 or len(value) > self.max_bytes:
            return False
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = value
            self._bytes += len(value)
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)
                self.stats.evictions += 1
            return True

    def clear(self) -> None:
        """Drop everything (e.g. when a model's weights change)."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
