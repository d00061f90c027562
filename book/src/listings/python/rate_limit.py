"""Rate limiting with a BoundedSemaphore as a token bucket.

Run: python3 book/listings/python/rate_limit.py
"""

import threading
import time

BURST = 3
EVERY = 0.02

tokens = threading.BoundedSemaphore(BURST)  # starts full
stop = threading.Event()


def refill():
    while not stop.wait(EVERY):
        try:
            tokens.release()
        except ValueError:
            pass  # the bucket is full: drop the token


start = time.monotonic()
threading.Thread(target=refill, daemon=True).start()
sent = []


def request():
    tokens.acquire()  # spend a token: never released by us
    sent.append(time.monotonic() - start)


threads = [threading.Thread(target=request) for _ in range(12)]
for t in threads:
    t.start()
for t in threads:
    t.join()
stop.set()
sent.sort()
for k, at in enumerate(sent):
    assert at >= EVERY * max(0, k + 1 - BURST) * 0.99, f"request {k} went early"
print(f"12 requests, burst {BURST}, one more every {EVERY}s: rate respected")
