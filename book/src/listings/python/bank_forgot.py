"""The lock taken in transfer() and forgotten in verify_accounts().

Every transfer is whole, so the final total is right; but the audit,
reading without the lock, can see a transfer halfway through.
Run: python3 book/listings/python/bank_forgot.py
"""

import random
import threading
import time

ACCOUNTS = 10
accounts = [1000] * ACCOUNTS
lock = threading.Lock()


# ANCHOR: verify
def transfer(src, dst, amount):
    with lock:
        accounts[src] -= amount
        time.sleep(0)  # the money is in flight here
        accounts[dst] += amount


def verify_accounts():
    return sum(accounts)  # forgot `with lock:`
# ANCHOR_END: verify


def worker(seed):
    rng = random.Random(seed)
    for _ in range(1000):
        src = rng.randrange(ACCOUNTS)
        dst = (src + 1 + rng.randrange(ACCOUNTS - 1)) % ACCOUNTS
        transfer(src, dst, rng.randint(1, 100))


audits = []


def auditor():
    for _ in range(200):
        audits.append(verify_accounts())
        time.sleep(0)


threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
threads.append(threading.Thread(target=auditor))
for t in threads:
    t.start()
for t in threads:
    t.join()
wrong = sum(1 for total in audits if total != 10000)
print(f"audits that saw money in flight: {wrong} of {len(audits)}")
with lock:
    final = verify_accounts()
assert final == 10000
print(f"final total, read under the lock: {final}")
