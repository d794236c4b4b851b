"""An in-process cache of objects for Django's cache API, on cachetools.TLRUCache.

For small read-only objects read on every request: django-cookie-consent's
cookie groups, which its middleware reads from its cache on every request,
where unpickling them from Django's local-memory cache cost about a tenth of
a cached page. Every thread of the process gets the same object, so callers
must not change what they get. Every entry lives its timeout, and at most
TIMEOUT seconds (whatever timeout the caller asks for), so a change saved
through another process shows here within that time.

Only the public cache API is written here (Django's documented way to add a
backend); expiry and eviction are cachetools'.
"""

import threading
import time
from typing import Any

from cachetools import TLRUCache
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

_MISSING = object()


class ProcessObjectCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        # Entries are (value, seconds to live); time.time() is read at each call (the tests' clocks travel).
        self._entries: TLRUCache = TLRUCache(
            maxsize=self._max_entries, ttu=lambda key, entry, now: now + entry[1], timer=lambda: time.time()
        )
        self._lock = threading.Lock()

    def _lifetime(self, timeout: Any) -> float:
        """Seconds an entry set with this timeout lives here: never more than TIMEOUT."""
        if timeout is DEFAULT_TIMEOUT or timeout is None:
            return self.default_timeout
        return min(timeout, self.default_timeout)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if key in self._entries:
                return False
            self._store(key, value, timeout)
            return True

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            entry = self._entries.get(key)
            return default if entry is None else entry[0]

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            self._store(key, value, timeout)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            self._store(key, entry[0], timeout)
            return True

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            return self._entries.pop(key, _MISSING) is not _MISSING

    def has_key(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            return key in self._entries

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                raise ValueError(f"Key '{key}' not found")
            self._entries[key] = (entry[0] + delta, entry[1])  # lives its own timeout afresh
            return entry[0] + delta

    def _store(self, key: str, value: Any, timeout: Any) -> None:
        lifetime = self._lifetime(timeout)
        if lifetime > 0:
            self._entries[key] = (value, lifetime)
        else:
            self._entries.pop(key, None)

    def clear(self):
        with self._lock:
            self._entries.clear()
