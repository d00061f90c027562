"""threading.Semaphore and BoundedSemaphore's surface.

Run: python3 book/listings/python/semaphore_basics.py
"""

import threading

# ANCHOR: basics
sem = threading.Semaphore(2)
sem.acquire()
assert sem.acquire(blocking=False)
assert not sem.acquire(blocking=False)
assert not sem.acquire(timeout=0.01)
sem.release()
sem.release(3)               # past the initial two: allowed
# ANCHOR_END: basics

bounded = threading.BoundedSemaphore(2)
with bounded:
    pass
try:
    bounded.release()        # a stray release
except ValueError as e:
    print(f"ValueError: {e}")

# ANCHOR: stray
# Python checks the count, not who released: a stray release() while a
# holder is inside succeeds, and the holder's own release() then raises.
bounded.acquire()            # a holder
bounded.release()            # a stray release: accepted
try:
    bounded.release()        # the holder's release
except ValueError as e:
    print(f"ValueError at the holder's release: {e}")
# ANCHOR_END: stray
