"""Cancelling asyncio tasks: CancelledError lands at an await, `finally`
may await, a task you drop the reference to runs on, and a shutdown that
puts interrupted jobs back.

Run: python3 book/listings/python/cancellation.py
"""

import asyncio


# ANCHOR: cleanup
async def session(log):
    try:
        await asyncio.Event().wait()  # serve until cancelled
    finally:
        await asyncio.sleep(0)  # an async cleanup: Python allows it
        log.append("goodbye sent")


async def cancel_a_session():
    log = []
    task = asyncio.create_task(session(log))
    await asyncio.sleep(0)  # let it start and reach its await
    task.cancel()  # CancelledError is thrown in at that await
    try:
        await task
    except asyncio.CancelledError:
        pass
    return log
# ANCHOR_END: cleanup


# ANCHOR: detach
async def dropped_reference():
    done = asyncio.Event()

    async def job():
        await asyncio.sleep(0)
        done.set()

    # The reference is dropped at once, and the task runs anyway. (Keep one
    # all the same: asyncio holds only a weak reference to a running task.)
    asyncio.create_task(job())
    await done.wait()
    return done.is_set()
# ANCHOR_END: detach


# ANCHOR: shutdown
async def worker(jobs, tally, five_hundred):
    while True:
        job = await jobs.get()
        try:
            await asyncio.sleep(0.001)  # the job's work
        except asyncio.CancelledError:
            jobs.put_nowait(job)  # interrupted: put the job back
            tally["interrupted"] += 1
            raise
        tally["done"] += 1
        if tally["done"] == 500:
            five_hundred.set()


async def shutdown():
    jobs = asyncio.Queue()
    for job in range(1000):
        jobs.put_nowait(job)
    tally = {"done": 0, "interrupted": 0}
    five_hundred = asyncio.Event()
    workers = [
        asyncio.create_task(worker(jobs, tally, five_hundred)) for _ in range(4)
    ]
    await five_hundred.wait()
    for w in workers:
        w.cancel()  # stop every worker, wherever it is
    await asyncio.gather(*workers, return_exceptions=True)
    return tally["done"], tally["interrupted"], jobs.qsize()
# ANCHOR_END: shutdown


async def main():
    log = await cancel_a_session()
    print(f"cancelled; its finally awaited a goodbye: {log}")
    assert log == ["goodbye sent"]

    assert await dropped_reference()
    print("a task whose reference was dropped ran to the end")

    done, interrupted, left = await shutdown()
    # How many finish before the cancel depends on timing: printed, and
    # only the sums checked.
    print(f"1000 jobs: {done} done, {interrupted} interrupted and put back, {left} left")
    assert done + left == 1000 and done >= 500 and interrupted == 4


asyncio.run(main())
