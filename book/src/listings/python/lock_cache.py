"""A cache that fetches each key once, however many threads ask at once.

Run: python3 book/listings/python/lock_cache.py
"""

import threading
import time

entries = {}                      # key -> [lock, value]
entries_lock = threading.Lock()   # guards `entries` itself, briefly
fetched = []                      # list.append is atomic: no lock needed


def fetch(key):
    fetched.append(key)           # only ever one fetch per key at a time
    time.sleep(0.01)              # the slow backend
    return f"<{key}>"


def get(key):
    with entries_lock:
        entry = entries.setdefault(key, [threading.Lock(), None])
    with entry[0]:                # held across the fetch
        if entry[1] is None:
            entry[1] = fetch(key)
        return entry[1]


results = []
threads = [threading.Thread(target=lambda k=k: results.append(get(k)))
           for k in ["a", "b"] * 10]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert sorted(set(results)) == ["<a>", "<b>"]
print(f"20 requests for 2 keys: {len(fetched)} fetches")
