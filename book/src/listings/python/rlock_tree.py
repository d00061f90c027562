"""A directory tree with a disk quota, guarded by one RLock.

Run: python3 book/listings/python/rlock_tree.py
"""

import threading


class Tree:
    def __init__(self, children, quota):
        self.lock = threading.RLock()
        self.children = children
        self.size = [0] * len(children)
        self.quota = quota

    def total(self, node):
        """du: the size of `node` and everything below it."""
        with self.lock:  # re-entered at every level of the recursion
            return self.size[node] + sum(self.total(c) for c in self.children[node])

    def grow(self, node, by):
        with self.lock:
            if self.total(0) + by > self.quota:  # with a Lock: deadlock
                return False
            self.size[node] += by
            return True


tree = Tree([[1, 2], [3, 4], [5], [], [], []], quota=1000)
results = []
threads = [threading.Thread(target=lambda i=i: results.append(tree.grow(3 + i % 3, 10)))
           for i in range(200)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"grew {sum(results)} of 200 times; total {tree.total(0)} of quota {tree.quota}")
