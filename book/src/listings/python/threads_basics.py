"""threading's vocabulary: Thread, join, ThreadPoolExecutor, local, Timer.

Run: python3 book/listings/python/threads_basics.py
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

# Thread and join: a thread's target returns nothing you can collect.
results = {}


def greet(name):
    time.sleep(0.01)
    results[name] = f"hello, {name}"


t = threading.Thread(target=greet, args=("ada",))
t.start()
t.join()
print(results["ada"])

# ThreadPoolExecutor: at most three at once, results in input order.
busy = 0
peak = 0
lock = threading.Lock()


def square(n):
    global busy, peak
    with lock:
        busy += 1
        peak = max(peak, busy)
    time.sleep(0.001)
    with lock:
        busy -= 1
    return n * n


with ThreadPoolExecutor(max_workers=3) as pool:
    squares = list(pool.map(square, range(10)))
print(f"squares: {squares}, never more than 3 at once: {peak <= 3}")

# threading.local: one value per thread.
local = threading.local()
lines = []


def handle(request_id):
    local.request_id = request_id
    time.sleep(0.001)  # other threads run here; the value stays ours
    lines.append(f"[request {local.request_id}] started")


workers = [threading.Thread(target=handle, args=(i,)) for i in (1, 2)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("\n".join(sorted(lines)))

# Timer: run a function later, unless cancelled first.
fired = []
fires = threading.Timer(0.05, lambda: fired.append("first"))
cancelled = threading.Timer(0.05, lambda: fired.append("second"))
fires.start()
cancelled.start()
cancelled.cancel()
fires.join()
cancelled.join()
assert fired == ["first"]
print("first timer fired, second cancelled")
