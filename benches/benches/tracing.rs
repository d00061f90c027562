//! What warden's `tracing` feature (`warden::debug`) costs per acquire:
//! needs `--features tracing`.
//!
//! * `tracing_acquire/{lock,rlock,semaphore,rwlock_read}`: acquire + drop of
//!   a free, named primitive (one poll with a no-op waker, no runtime), as
//!   `uncontended`'s rows; run `uncontended` without the feature for the
//!   price of the same operation in the default build.
//! * `tracing_acquire/nested2`: acquire `a`, then `b` while holding `a`,
//!   drop both: the lock-order check's path (the order `a → b`, already
//!   known after the first iteration).
//! * `tracing_dump/{0,100}`: `warden::debug::dump()` with nothing held, and
//!   with 100 named locks held.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use warden_benches::poll_ready;

fn acquire(c: &mut Criterion) {
    let mut g = c.benchmark_group("tracing_acquire");
    let lock = warden::Lock::new(0_u64).named("bench-lock");
    g.bench_function("lock", |b| {
        b.iter(|| drop(black_box(poll_ready(lock.acquire()))));
    });
    let rlock = warden::RLock::new(0_u64).named("bench-rlock");
    g.bench_function("rlock", |b| {
        b.iter(|| drop(black_box(poll_ready(rlock.acquire()))));
    });
    let sem = warden::Semaphore::new(1).named("bench-sem");
    g.bench_function("semaphore", |b| {
        b.iter(|| drop(black_box(poll_ready(sem.acquire()))));
    });
    let rw = warden::RwLock::new(0_u64).named("bench-rw");
    g.bench_function("rwlock_read", |b| {
        b.iter(|| drop(black_box(poll_ready(rw.read()))));
    });
    let (a, bb) = (
        warden::Lock::new(()).named("bench-a"),
        warden::Lock::new(()).named("bench-b"),
    );
    g.bench_function("nested2", |b| {
        b.iter(|| {
            let ga = poll_ready(a.acquire());
            let gb = poll_ready(bb.acquire());
            drop(black_box((gb, ga)));
        });
    });
    g.finish();
}

fn dump(c: &mut Criterion) {
    let mut g = c.benchmark_group("tracing_dump");
    for held in [0_usize, 100] {
        let locks: Vec<_> = (0..held)
            .map(|_| warden::Lock::new(()).named("bench-dump"))
            .collect();
        let guards: Vec<_> = locks.iter().map(|l| l.try_acquire().unwrap()).collect();
        g.bench_with_input(BenchmarkId::from_parameter(held), &held, |b, _| {
            b.iter(|| black_box(warden::debug::dump()));
        });
        drop(guards);
    }
    g.finish();
}

criterion_group!(benches, acquire, dump);
criterion_main!(benches);
