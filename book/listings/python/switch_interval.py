"""Where CPython switches threads: only where its eval loop checks.

Run: python3 book/listings/python/switch_interval.py
"""

import dis
import sys
import threading

# How long a thread may hold the GIL before another that wants it asks for
# it. The running thread honours the request at its next check point.
print(f"switch interval: {sys.getswitchinterval()} s")

counter = 0


def add_one():
    global counter
    counter += 1


# `counter += 1` is several bytecodes: a read, an add, a write. A switch
# between the read and the write would lose the other thread's update.
steps = []
for instruction in dis.get_instructions(add_one):
    if instruction.opname not in ("RESUME", "NOP", "CACHE"):
        steps.append(instruction.opname)
    if instruction.opname == "STORE_GLOBAL":
        break
print("counter += 1 runs as:", " ".join(steps))


def count(n):
    global counter
    for _ in range(n):
        counter += 1  # no call between the read and the write


counter = 0
threads = [threading.Thread(target=count, args=(1_000_000,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
version = ".".join(map(str, sys.version_info[:2]))
gil = "with the GIL" if getattr(sys, "_is_gil_enabled", lambda: True)() else "free-threaded"
# Not asserted: the answer depends on the Python version and build.
print(f"4 threads x 1000000 increments: {counter} (Python {version}, {gil})")
