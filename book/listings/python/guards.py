"""`with` makes the end of a critical section visible; lock ordering is
the same rule in both languages.

Run: python3 book/listings/python/guards.py
"""

import threading

# ANCHOR: with
lock = threading.Lock()
with lock:  # the lock is held for exactly this block
    assert lock.locked()
assert not lock.locked()

lock.acquire()  # no block: held until someone calls release()
assert lock.locked()
lock.release()
# ANCHOR_END: with


# ANCHOR: ordering
def opposite_transfers(ordered):
    accounts = [100, 100]
    locks = [threading.Lock(), threading.Lock()]
    both_hold_one = threading.Barrier(2, timeout=1)
    deadlocked = []

    def transfer(src, dst, amount):
        first, second = (min(src, dst), max(src, dst)) if ordered else (src, dst)
        with locks[first]:
            if not ordered:
                both_hold_one.wait()  # force the bad interleaving
            # A deadlock never ends; the timeout makes it visible.
            if not locks[second].acquire(timeout=0.2):
                deadlocked.append((src, dst))
                return
            accounts[src] -= amount
            accounts[dst] += amount
            locks[second].release()

    threads = [
        threading.Thread(target=transfer, args=(0, 1, 10)),
        threading.Thread(target=transfer, args=(1, 0, 20)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return None if deadlocked else accounts[0]


print(f"opposite transfers, locks in either order: {opposite_transfers(False)}")
print(f"opposite transfers, lower account first: {opposite_transfers(True)}")
# ANCHOR_END: ordering
