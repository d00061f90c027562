"""Exercise (Lock): count page hits from many threads. Port it to warden.

Run: python3 book/listings/python/exercise_lock.py
"""

import threading

hits = {}
lock = threading.Lock()


def visit(page):
    with lock:
        hits[page] = hits.get(page, 0) + 1


def browse(pages):
    for _ in range(100):
        for page in pages:
            visit(page)


pages = ["/", "/about", "/"]
visitors = [threading.Thread(target=browse, args=(pages,)) for _ in range(8)]
for v in visitors:
    v.start()
for v in visitors:
    v.join()
print(sorted(hits.items()))
