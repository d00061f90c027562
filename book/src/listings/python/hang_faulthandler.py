# A program that hangs: one thread holds the lock and waits for something
# that never comes; the main thread cannot get the lock. faulthandler
# prints every thread's stack: where each one is, not who holds what.
import faulthandler
import sys
import threading

accounts = threading.Lock()
never = threading.Event()


def holder():
    with accounts:
        never.wait()  # stuck here, holding the lock


t = threading.Thread(target=holder, name="holder", daemon=True)
t.start()
while not accounts.locked():
    pass
print("acquired:", accounts.acquire(timeout=0.2))
faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
