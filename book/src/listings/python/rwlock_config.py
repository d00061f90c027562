"""Python has no reader-writer lock: with a Lock, readers wait for each other.

Run: python3 book/listings/python/rwlock_config.py
"""

import threading
import time

config = {"version": 1}
config_lock = threading.Lock()  # guards `config`, for readers and writers alike
pages = {}


def render(page):
    with config_lock:               # one render at a time, though none writes
        time.sleep(0.01)            # slow work with the config in hand
        pages[page] = config["version"]


def reload():
    with config_lock:
        config["version"] += 1


start = time.monotonic()
threads = [threading.Thread(target=render, args=(p,)) for p in range(1, 5)]
threads.append(threading.Thread(target=reload))
threads += [threading.Thread(target=render, args=(p,)) for p in range(5, 7)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start
assert sorted(pages) == [1, 2, 3, 4, 5, 6] and config["version"] == 2
print("6 renders and a reload, one at a time behind one Lock")
print(f"took at least 60 ms: {elapsed >= 0.06}")
