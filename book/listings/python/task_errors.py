"""When a thread raises: join() does not re-raise; future.result() does.

Run: python3 book/listings/python/task_errors.py
"""

import threading
from concurrent.futures import ThreadPoolExecutor


class PageMissing(Exception):
    pass


def fetch(url):
    if not url.startswith("/page/"):
        raise PageMissing(f"no page at {url}")
    return 100 * int(url.removeprefix("/page/"))


# A Thread: join() returns normally; the exception went to threading.excepthook,
# which by default prints it to stderr.
seen = []
threading.excepthook = lambda args: seen.append(args.exc_value)
t = threading.Thread(target=fetch, args=("/404",))
t.start()
t.join()
print(f"join() returned; threading.excepthook got: {seen[0]!r}")

# A Future (ThreadPoolExecutor, or asyncio): result() re-raises in the caller,
# as `handle.await??` returns the task's Err.
with ThreadPoolExecutor() as pool:
    print(f"/page/2: {pool.submit(fetch, '/page/2').result()} bytes")
    try:
        pool.submit(fetch, "/404").result()
    except PageMissing as e:
        print(f"/404: {e}")
