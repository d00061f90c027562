"""Exercise (Semaphore): a pool of three connections shared by ten jobs.
Port it to warden -- and make it impossible to forget pool.put().

Run: python3 book/listings/python/exercise_semaphore.py
"""

import threading
import time


class Pool:
    def __init__(self, size):
        self.free = [f"conn{i}" for i in range(size)]
        self.lock = threading.Lock()
        self.available = threading.BoundedSemaphore(size)

    def get(self):
        self.available.acquire()
        with self.lock:
            return self.free.pop()

    def put(self, conn):
        with self.lock:
            self.free.append(conn)
        self.available.release()


pool = Pool(3)
in_use = set()
peak = 0
stats = threading.Lock()


def job():
    global peak
    conn = pool.get()
    with stats:
        assert conn not in in_use  # nobody else has this connection
        in_use.add(conn)
        peak = max(peak, len(in_use))
    time.sleep(0.001)  # use it
    with stats:
        in_use.remove(conn)
    pool.put(conn)


jobs = [threading.Thread(target=job) for _ in range(10)]
for j in jobs:
    j.start()
for j in jobs:
    j.join()
print(f"10 jobs, a pool of 3: never more than 3 in use: {peak <= 3}; {len(pool.free)} free")
