//! CPU-bound work: no GIL, so plain threads run it in parallel.
//! `ProcessPoolExecutor.map` becomes `std::thread::scope`, and async code
//! hands the whole computation to `spawn_blocking`.
//!
//! Run: `cargo run -p warden-book-listings --example ch15_cpu_bound`

// ANCHOR: uses
use std::thread;
// ANCHOR_END: uses

// ANCHOR: primes
/// Pure computation: how many of `numbers` are prime (trial division).
fn count_primes(numbers: &[u64]) -> usize {
    let is_prime = |n: u64| n >= 2 && (2..=n.isqrt()).all(|d| !n.is_multiple_of(d));
    numbers.iter().filter(|&&n| is_prime(n)).count()
}

/// `ProcessPoolExecutor(workers).map(count_primes, chunks)`, with threads:
/// each scoped thread borrows its chunk of `numbers` -- no copying, no
/// pickling, no `Arc` -- and `scope` joins them all before it returns.
fn count_primes_parallel(numbers: &[u64], workers: usize) -> usize {
    let chunk = numbers.len().div_ceil(workers);
    thread::scope(|scope| {
        let counts: Vec<_> = numbers
            .chunks(chunk)
            .map(|part| scope.spawn(move || count_primes(part)))
            .collect();
        counts.into_iter().map(|count| count.join().unwrap()).sum()
    })
}
// ANCHOR_END: primes

// ANCHOR: from_async
/// From async code: the computation would hold a runtime thread for as
/// long as it runs, so it goes to the blocking pool, whole.
async fn count_primes_below(n: u64, workers: usize) -> usize {
    tokio::task::spawn_blocking(move || {
        let numbers: Vec<u64> = (0..n).collect();
        count_primes_parallel(&numbers, workers)
    })
    .await
    .expect("the computation did not panic")
}
// ANCHOR_END: from_async

#[tokio::main]
async fn main() {
    let primes = count_primes_below(100_000, 4).await;
    println!("primes below 100000: {primes} (4 threads)");
    assert_eq!(primes, 9_592);
    let numbers: Vec<u64> = (0..100_000).collect();
    assert_eq!(count_primes(&numbers), primes, "the same as one thread");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        super::main();
    }
}
