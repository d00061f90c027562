"""The bank without a lock: transfers that interleave lose money.

Run: python3 book/listings/python/bank_unsafe.py
"""

import random
import threading
import time


# ANCHOR: transfer
def transfer(accounts, src, dst, amount, between=None):
    src_balance = accounts[src]
    dst_balance = accounts[dst]
    if between:
        between()  # whatever is called here may let another thread run
    accounts[src] = src_balance - amount
    accounts[dst] = dst_balance + amount
# ANCHOR_END: transfer


# ANCHOR: forced
# The unlucky schedule, forced: neither transfer writes before both have
# read, and B writes after A -- the schedule of the Rust timeline below.
accounts = [100, 100, 100]
both_read = threading.Barrier(2)
a_wrote = threading.Event()


def a():
    transfer(accounts, 0, 1, 50, between=both_read.wait)
    a_wrote.set()


def b():
    transfer(accounts, 1, 2, 30, between=lambda: (both_read.wait(), a_wrote.wait()))


threads = [threading.Thread(target=a), threading.Thread(target=b)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"two transfers, forced to interleave: total 300 before, {sum(accounts)} after")
assert accounts == [50, 70, 130]  # B wrote account 1 over A's update
# ANCHOR_END: forced


# ANCHOR: free_run
def free_run(between):
    """8 threads x 1000 random transfers; returns the final total."""
    accounts = [1000] * 10

    def worker(seed):
        rng = random.Random(seed)
        for _ in range(1000):
            src = rng.randrange(10)
            dst = (src + 1 + rng.randrange(9)) % 10
            transfer(accounts, src, dst, rng.randint(1, 100), between)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(accounts)


# Printed, not asserted: what these two runs lose depends on the Python
# version and build, and on the run.
with_sleep = free_run(lambda: time.sleep(0))
print(f"8000 transfers, sleep(0) between read and write: total {with_sleep}")
print(f"8000 transfers, nothing between read and write: total {free_run(None)}")
# ANCHOR_END: free_run
