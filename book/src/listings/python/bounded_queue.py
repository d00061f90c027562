"""A bounded queue: one lock, two conditions (as CPython's queue.Queue).

Run: python3 book/listings/python/bounded_queue.py
"""

import collections
import threading


# ANCHOR: queue
class BoundedQueue:
    def __init__(self, capacity):
        self.items = collections.deque()
        self.capacity = capacity
        self.lock = threading.Lock()
        self.not_empty = threading.Condition(self.lock)
        self.not_full = threading.Condition(self.lock)

    def put(self, item):
        with self.lock:
            while len(self.items) == self.capacity:
                self.not_full.wait()
            self.items.append(item)
            self.not_empty.notify()

    def get(self):
        with self.lock:
            self.not_empty.wait_for(lambda: len(self.items))
            item = self.items.popleft()
            self.not_full.notify()
            return item
# ANCHOR_END: queue


queue = BoundedQueue(5)
got = []


def produce(p):
    for i in range(100):
        queue.put(p * 100 + i)


def consume():
    while (item := queue.get()) is not None:
        got.append(item)


producers = [threading.Thread(target=produce, args=(p,)) for p in range(3)]
consumers = [threading.Thread(target=consume) for _ in range(2)]
for t in producers + consumers:
    t.start()
for t in producers:
    t.join()
queue.put(None)
queue.put(None)
for t in consumers:
    t.join()
print(f"300 items put, {len(got)} got, {len(set(got))} distinct")
assert sorted(got) == list(range(300))
