"""Python's counterparts of tokio's channels: queue.Queue (mpsc), a Future
(oneshot), the latest value under a Condition (watch), a queue per
subscriber (broadcast).

Run: python3 book/listings/python/channels.py
"""

import queue
import threading
from concurrent.futures import Future


# ANCHOR: queue
def queue_channel():
    q = queue.Queue(maxsize=5)
    got = []

    def produce(p):
        for i in range(100):
            q.put(p * 100 + i)

    def consume():
        while (item := q.get()) is not None:
            got.append(item)

    producers = [threading.Thread(target=produce, args=(p,)) for p in range(3)]
    consumers = [threading.Thread(target=consume) for _ in range(2)]
    for t in producers + consumers:
        t.start()
    for t in producers:
        t.join()
    q.put(None)  # one "stop" per consumer: a Queue is never closed (before
    q.put(None)  # Python 3.13's q.shutdown())
    for t in consumers:
        t.join()
    print(f"300 items put, {len(got)} got, {len(set(got))} distinct")
# ANCHOR_END: queue


# ANCHOR: others
def oneshot():
    answer = Future()
    threading.Thread(target=lambda: answer.set_result(6 * 7)).start()
    return answer.result()


def watch():
    """The latest value, and a Condition to wait for the next one."""
    changed = threading.Condition()
    config = {"value": "v1", "version": 1}
    seen = []
    looked = threading.Semaphore(0)  # released each time the reader has looked

    def reader():
        version = 0
        while True:
            with changed:
                changed.wait_for(lambda: config["version"] != version)
                version, value = config["version"], config["value"]
            if value is None:
                return  # closed
            seen.append(value)
            looked.release()

    t = threading.Thread(target=reader)
    t.start()
    looked.acquire()  # the reader has seen "v1"
    with changed:  # v2 and v3 while holding the lock: the reader sees only v3
        for value in ("v2", "v3"):
            config["value"], config["version"] = value, config["version"] + 1
        changed.notify_all()
    looked.acquire()
    with changed:
        config["value"], config["version"] = None, config["version"] + 1
        changed.notify_all()
    t.join()
    return seen


def broadcast():
    inboxes = [queue.Queue(), queue.Queue()]  # one per subscriber
    for event in (1, 2, 3):
        for inbox in inboxes:
            inbox.put(event)
    return [[inbox.get() for _ in range(3)] for inbox in inboxes]
# ANCHOR_END: others


queue_channel()
print(f"oneshot: {oneshot()}")
print(f"watch: the reader saw {watch()}")
print(f"broadcast: {broadcast()}")
