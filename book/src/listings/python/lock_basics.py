"""threading.Lock's surface.

Run: python3 book/listings/python/lock_basics.py
"""

import threading

lock = threading.Lock()
items = []
with lock:
    items.append("first")
    assert lock.locked()
assert not lock.locked()

assert lock.acquire(blocking=False)      # taken
assert not lock.acquire(blocking=False)  # held: refused at once
assert not lock.acquire(timeout=0.05)    # held: gave up after 50 ms
lock.release()
assert lock.acquire(timeout=0.05)
items.append("second")
lock.release()

# A Lock may be released by a thread that did not acquire it.
lock.acquire()


def releaser():
    print("releasing a lock another thread acquired")
    lock.release()


t = threading.Thread(target=releaser)
t.start()
t.join()
assert not lock.locked()
print(items)
