"""The bank as several processes on ONE machine: multiprocessing.

Shared memory (an Array) and one multiprocessing.Lock per account. This
works for processes that share a machine; it cannot span two machines or
outlive its parent. warden::dist keeps the shape and moves the locks and
the accounts into PostgreSQL.
"""

import multiprocessing as mp
import random

ACCOUNTS, INITIAL = 8, 1000


def worker(seed, balances, locks, transfers):
    rng = random.Random(seed)
    for _ in range(transfers):
        src = rng.randrange(ACCOUNTS)
        dst = (src + 1 + rng.randrange(ACCOUNTS - 1)) % ACCOUNTS
        first, second = sorted((src, dst))  # one order: no deadlock
        with locks[first], locks[second]:
            amount = rng.randint(1, 50)
            if balances[src] >= amount:
                balances[src] -= amount
                balances[dst] += amount


if __name__ == "__main__":
    balances = mp.Array("q", [INITIAL] * ACCOUNTS, lock=False)
    locks = [mp.Lock() for _ in range(ACCOUNTS)]
    procs = [mp.Process(target=worker, args=(i, balances, locks, 300)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print(f"4 processes x 300 transfers: total {sum(balances)}")
