"""The run-time errors of Python's threading primitives, one by one.

The errors chapter maps each to what warden does instead.
Run: python3 book/listings/python/errors.py
"""

import asyncio
import threading


def show(what, action):
    try:
        action()
        print(f"{what}: no error")
    except Exception as e:
        detail = f": {e}" if str(e) else ""
        print(f"{what}: {type(e).__name__}{detail}")


def failing_action():
    raise KeyError("the action failed")


show("Lock().release()", lambda: threading.Lock().release())
show("RLock().release()", lambda: threading.RLock().release())
show("Condition().notify()", lambda: threading.Condition().notify())
show("Condition().wait()", lambda: threading.Condition().wait())
show("BoundedSemaphore(1).release()", lambda: threading.BoundedSemaphore(1).release())
show("Semaphore(-1)", lambda: threading.Semaphore(-1))
show("Semaphore().release(0)", lambda: threading.Semaphore().release(0))
show("Lock().acquire(blocking=False, timeout=1)",
     lambda: threading.Lock().acquire(blocking=False, timeout=1))

aborted = threading.Barrier(2)
aborted.abort()
show("Barrier(2) after abort(): wait()", aborted.wait)
show("Barrier(2).wait(timeout=0.01)", lambda: threading.Barrier(2).wait(timeout=0.01))
show("Barrier(1, action=failing_action).wait()",
     lambda: threading.Barrier(1, action=failing_action).wait())
show("asyncio.Barrier(0)", lambda: asyncio.Barrier(0))
try:
    threading.Barrier(0)
    print("threading.Barrier(0): no error (before gh-121474; its wait() hangs)")
except ValueError as e:
    print(f"threading.Barrier(0): ValueError: {e}")

# Re-acquiring a Lock you hold is not an error: it waits forever. A
# timeout makes the hang visible.
lock = threading.Lock()
lock.acquire()
print(f"Lock().acquire() by its holder, timeout=0.05: {lock.acquire(timeout=0.05)}")
