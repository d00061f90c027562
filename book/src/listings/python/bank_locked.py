"""The bank with a lock around every transfer: the total is conserved.

Run: python3 book/listings/python/bank_locked.py
"""

import random
import threading
import time

ACCOUNTS = 10
accounts = [1000] * ACCOUNTS
# ANCHOR: transfer
lock = threading.Lock()


def transfer(src, dst, amount):
    with lock:
        src_balance = accounts[src]
        dst_balance = accounts[dst]
        time.sleep(0)  # other threads run; none gets past the lock
        accounts[src] = src_balance - amount
        accounts[dst] = dst_balance + amount
# ANCHOR_END: transfer


def worker(seed):
    rng = random.Random(seed)
    for _ in range(1000):
        src = rng.randrange(ACCOUNTS)
        dst = (src + 1 + rng.randrange(ACCOUNTS - 1)) % ACCOUNTS
        transfer(src, dst, rng.randint(1, 100))


before = sum(accounts)
threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
after = sum(accounts)
print(f"total: {before} before, {after} after 8000 locked transfers")
assert after == before
print("total conserved")
