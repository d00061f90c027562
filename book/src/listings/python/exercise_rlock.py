"""Exercise (RLock): an inventory whose add_kit() calls add(), both under
one RLock, so nobody ever sees half a kit. Port it to warden.

Run: python3 book/listings/python/exercise_rlock.py
"""

import threading


class Inventory:
    def __init__(self):
        self.lock = threading.RLock()
        self.items = {}

    def add(self, item, n):
        with self.lock:
            self.items[item] = self.items.get(item, 0) + n

    def add_kit(self, kit):
        with self.lock:  # held across the adds: a kit arrives whole
            for item, n in kit.items():
                self.add(item, n)  # re-enters the lock

    def whole_kits(self):
        with self.lock:
            bolts = self.items.get("bolt", 0)
            nuts, washers = self.items.get("nut", 0), self.items.get("washer", 0)
            return nuts == bolts and washers == 2 * bolts


inventory = Inventory()
kit = {"bolt": 4, "nut": 4, "washer": 8}
checks = []


def assemble():
    for _ in range(25):
        inventory.add_kit(kit)
        checks.append(inventory.whole_kits())


workers = [threading.Thread(target=assemble) for _ in range(4)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(f"{sorted(inventory.items.items())}, always whole kits: {all(checks)}")
