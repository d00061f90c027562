"""The bank without a lock: concurrent transfers lose (or make) money.

Run: python3 book/listings/python/bank_unsafe.py   (a few times)
"""

import random
import threading
import time

ACCOUNTS = 10
accounts = [1000] * ACCOUNTS


def transfer(src, dst, amount):
    src_balance = accounts[src]
    dst_balance = accounts[dst]
    time.sleep(0)  # the GIL may switch threads here; this invites it
    accounts[src] = src_balance - amount
    accounts[dst] = dst_balance + amount


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
print(f"total: {before} before, {sum(accounts)} after 8000 unsynchronized transfers")
