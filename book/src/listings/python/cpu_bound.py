"""CPU-bound work: with the GIL, threads take turns, so Python uses
processes.

Run: python3 book/listings/python/cpu_bound.py
"""

from concurrent.futures import ProcessPoolExecutor


def count_primes(numbers):
    def is_prime(n):
        return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))

    return sum(1 for n in numbers if is_prime(n))


def count_primes_parallel(numbers, workers):
    size = -(-len(numbers) // workers)  # ceiling division
    chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)]
    # Each chunk is pickled and sent to a worker process, and each count
    # pickled back: processes share no memory.
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(count_primes, chunks))


if __name__ == "__main__":  # the worker processes import this file
    primes = count_primes_parallel(list(range(100_000)), 4)
    print(f"primes below 100000: {primes} (4 processes)")
    assert primes == 9592
