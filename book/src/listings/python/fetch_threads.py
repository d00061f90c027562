"""Fetch eight pages with threads: at most three requests in flight.

The program the threads chapter ports to Rust twice: to plain threads
with warden's blocking twins, then to tokio tasks.
Run: python3 book/listings/python/fetch_threads.py
"""

import threading
import time

# A pretend web site: page -> body.
PAGES = {f"/page/{i}": "x" * (100 * i) for i in range(1, 9)}
MAX_IN_FLIGHT = 3

slots = threading.Semaphore(MAX_IN_FLIGHT)  # connections we may open
lock = threading.Lock()                     # guards the three below
sizes = {}
in_flight = 0
peak = 0
all_done = threading.Event()


def fetch(url):
    global in_flight, peak
    with slots:
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.01)  # the network
        body = PAGES[url]
        with lock:
            in_flight -= 1
            sizes[url] = len(body)
            if len(sizes) == len(PAGES):
                all_done.set()


threads = [threading.Thread(target=fetch, args=(url,)) for url in PAGES]
for t in threads:
    t.start()
all_done.wait()
for t in threads:
    t.join()

print(f"fetched {len(sizes)} pages, {sum(sizes.values())} bytes")
print(f"at most {MAX_IN_FLIGHT} in flight: {peak <= MAX_IN_FLIGHT}")
