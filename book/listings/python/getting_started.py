"""Getting started, the Python way: asyncio.run, a lock, and state shared
between threads by reference.

Run: python3 book/listings/python/getting_started.py
"""

import asyncio
import threading


# ANCHOR: hello
async def main():
    lock = asyncio.Lock()
    counter = 0
    async with lock:
        counter += 1
    task = asyncio.create_task(asyncio.sleep(0, result="hello from a task"))
    print(f"{await task}; counter = {counter}")


asyncio.run(main())
# ANCHOR_END: hello


# ANCHOR: share
class Hits:
    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0


def ten_threads_share_a_counter():
    hits = Hits()  # one object; every name below refers to it

    def work():
        with hits.lock:  # the closure uses `hits` by reference
            hits.count += 1

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return hits.count  # freed when the last reference goes: garbage collection


print(f"ten threads, one counter: {ten_threads_share_a_counter()}")
# ANCHOR_END: share
