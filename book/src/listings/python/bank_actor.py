"""The bank with no lock: one thread owns the balances; the others send it
requests on a queue.Queue, each with a Future for the reply.

Run: python3 book/listings/python/bank_actor.py
"""

import queue
import threading
from concurrent.futures import Future

requests = queue.Queue(maxsize=32)


# ANCHOR: bank
def bank(accounts):
    """The only code that touches `accounts`: one request at a time."""
    while (request := requests.get()) is not None:
        kind, args, reply = request
        if kind == "transfer":
            src, dst, amount = args
            if accounts[src] < amount:
                reply.set_exception(ValueError(f"account {src} holds less than {amount}"))
            else:
                accounts[src] -= amount
                accounts[dst] += amount
                reply.set_result(None)
        elif kind == "total":
            reply.set_result(sum(accounts))


def ask(kind, *args):
    reply = Future()
    requests.put((kind, args, reply))
    return reply.result()  # waits for the bank's answer; re-raises its error
# ANCHOR_END: bank


def client(c):
    for i in range(1000):
        src = (c + i) % 10
        try:
            ask("transfer", src, (src + 3) % 10, 7)
        except ValueError:
            pass  # refused: the account was short


owner = threading.Thread(target=bank, args=([1000] * 10,))
owner.start()
clients = [threading.Thread(target=client, args=(c,)) for c in range(8)]
for t in clients:
    t.start()
for t in clients:
    t.join()
print(f"8000 transfers, no lock: total {ask('total')}")
try:
    ask("transfer", 0, 1, 1_000_000)
except ValueError as e:
    print(f"an overdraft: {e}")
requests.put(None)
owner.join()
