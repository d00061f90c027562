"""Exercise (Condition): a countdown latch -- wait until n workers have
each counted down once (Java's CountDownLatch, Go's WaitGroup). Port it
to warden.

Run: python3 book/listings/python/exercise_condition.py
"""

import threading


class Latch:
    def __init__(self, count):
        self.count = count
        self.zero = threading.Condition()

    def count_down(self):
        with self.zero:
            self.count -= 1
            if self.count == 0:
                self.zero.notify_all()

    def wait(self):
        with self.zero:
            self.zero.wait_for(lambda: self.count == 0)


latch = Latch(3)
done = []


def worker(i):
    done.append(i)  # the work
    latch.count_down()


for i in range(3):
    threading.Thread(target=worker, args=(i,)).start()
latch.wait()
print(f"all 3 workers counted down: {sorted(done)}")
