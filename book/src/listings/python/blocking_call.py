"""A blocking call inside a coroutine stalls the event loop; asyncio.to_thread
moves it to a thread of its own.

Run: python3 book/listings/python/blocking_call.py
"""

import asyncio
import queue


# ANCHOR: server
async def server(requests):
    """A tiny server: a task on the event loop that answers every request."""
    while True:
        path, reply = await requests.get()
        reply.put(f"200 OK {path}")


def get_blocking(loop, requests, path, timeout=None):
    """A blocking client, like requests.get(url, timeout=...): it blocks
    its thread until the answer comes, or the timeout passes."""
    reply = queue.Queue()
    loop.call_soon_threadsafe(requests.put_nowait, (path, reply))
    return reply.get(timeout=timeout)
# ANCHOR_END: server


# ANCHOR: main
async def main():
    loop = asyncio.get_running_loop()
    requests = asyncio.Queue()
    serving = asyncio.create_task(server(requests))
    await asyncio.sleep(0)

    try:  # in the coroutine: the loop is blocked, the server never runs
        get_blocking(loop, requests, "/in-a-coroutine", timeout=0.1)
    except queue.Empty:
        print("blocking call in a coroutine: timed out")

    # in a thread of its own: the loop runs on, and the server answers
    answer = await asyncio.to_thread(get_blocking, loop, requests, "/in-to-thread")
    print(f"blocking call in asyncio.to_thread: {answer!r}")
    assert answer == "200 OK /in-to-thread"
    serving.cancel()


asyncio.run(main())
# ANCHOR_END: main
