"""threading.Event as a start gate.

Run: python3 book/listings/python/event_gate.py
"""

import threading

RUNNERS = 3
gate = threading.Event()
ready = threading.Semaphore(0)
started = []


def runner(i):
    # ... warm up: open connections, load data ...
    ready.release()
    gate.wait()
    started.append(i)


threads = [threading.Thread(target=runner, args=(i,)) for i in range(RUNNERS)]
for t in threads:
    t.start()
for _ in range(RUNNERS):
    ready.acquire()         # every runner is at the gate
assert started == []        # and nobody went early
gate.set()
for t in threads:
    t.join()
print(f"{RUNNERS} runners waited at the gate; all started after it opened")

ev = threading.Event()
assert ev.wait(timeout=0.01) is False
ev.set()
assert ev.wait() is True
