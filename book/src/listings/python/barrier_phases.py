"""Phased workers with a Barrier, and a broken barrier.

Run: python3 book/listings/python/barrier_phases.py
"""

import threading

WORKERS = 4
PHASES = 5
buffers = [[1, 0, 0, 0], [0] * WORKERS]
phases_done = []
barrier = threading.Barrier(WORKERS, action=lambda: phases_done.append(1))


def worker(i):
    for phase in range(PHASES):
        read, write = buffers[phase % 2], buffers[(phase + 1) % 2]
        write[i] = read[i - 1] + read[i] + read[(i + 1) % WORKERS]
        barrier.wait()


threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()

cells = [1, 0, 0, 0]
for _ in range(PHASES):
    cells = [cells[i - 1] + cells[i] + cells[(i + 1) % WORKERS] for i in range(WORKERS)]
assert buffers[PHASES % 2] == cells and len(phases_done) == PHASES
print(f"after {PHASES} phases: {buffers[PHASES % 2]}")

# A timeout breaks the barrier for every party.
pair = threading.Barrier(2)
try:
    pair.wait(timeout=0.01)
except threading.BrokenBarrierError:
    print(f"BrokenBarrierError; broken: {pair.broken}")
