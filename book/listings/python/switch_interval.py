"""Where Python threads switch: at any bytecode, every few milliseconds.

Run: python3 book/listings/python/switch_interval.py
"""

import dis
import sys

# How long a thread may hold the GIL before another is asked to take it.
print(f"switch interval: {sys.getswitchinterval()} s")

counter = 0


def add_one():
    global counter
    counter += 1


# `counter += 1` is several bytecodes: a read, an add, a write. A thread
# switch between the read and the write loses the other thread's update.
steps = []
for instruction in dis.get_instructions(add_one):
    if instruction.opname not in ("RESUME", "NOP", "CACHE"):
        steps.append(instruction.opname)
    if instruction.opname == "STORE_GLOBAL":
        break
print("counter += 1 runs as:", " ".join(steps))
