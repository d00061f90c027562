"""Exercise (Event): a ticker that runs until told to stop, with the
classic `while not stop.wait(timeout)` loop. Port it to warden.

Run: python3 book/listings/python/exercise_event.py
"""

import threading

stop = threading.Event()
five_ticks = threading.Event()
ticks = 0


def ticker():
    global ticks
    while not stop.wait(timeout=0.01):  # False after 10 ms without a stop: tick
        ticks += 1
        if ticks == 5:
            five_ticks.set()


t = threading.Thread(target=ticker)
t.start()
five_ticks.wait()
stop.set()
t.join()
print(f"at least 5 ticks, then stopped: {ticks >= 5}")
