"""Exercise (Barrier): four workers sum a quarter of the data each; one of
them adds up the parts, and all see the total. Port it to warden.

Run: python3 book/listings/python/exercise_barrier.py
"""

import threading

data = list(range(1, 101))
parts = [0] * 4
total = []
barrier = threading.Barrier(4)
seen = []


def worker(i):
    parts[i] = sum(data[i * 25 : (i + 1) * 25])
    if barrier.wait() == 0:  # exactly one worker gets index 0
        total.append(sum(parts))
    barrier.wait()  # after this, the total is there for everyone
    seen.append(total[0])


workers = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(f"sum of 1..100 by 4 workers: {total}, seen by all: {seen == [5050] * 4}")
