//! Contended throughput on a 2-worker multi-thread tokio runtime.
//!
//! * `lock_contended/N`: N tasks share [`ROUND_OPS`] increments of one
//!   counter behind each contender's lock (one iteration = one round).
//! * `semaphore_contended`: 64 tasks take one of 4 permits 100 times each,
//!   yielding and working while they hold it.
//! * `rwlock_read_mostly/N`: one writer and N readers share
//!   [`rwlock::ROUND_OPS`] acquisitions of one `RwLock` in tight loops;
//!   `rwlock_read_mostly_yield/N`: the same with a yield after every
//!   release (`warden-lock` is warden's `Lock` doing the same work).
//!
//! Run these groups several times (`--save-baseline runN`) and report the
//! median ratio: on two cores the scheduler's noise is large.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use tokio::runtime::Runtime;
use warden_benches::lock::{self, CounterLock, ROUND_OPS};
use warden_benches::rwlock::{self, PairLock};
use warden_benches::semaphore::{self as sem, PermitPool};
use warden_benches::{current_thread, multi_thread};

fn one_lock<L: CounterLock>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    tasks: usize,
    yield_between: bool,
) {
    let l = Arc::new(L::new());
    g.bench_with_input(BenchmarkId::new(L::NAME, tasks), &tasks, |b, &tasks| {
        b.iter(|| lock::contended_round(rt, &l, tasks, yield_between));
    });
}

/// `lock_contended`: tight loops; `lock_contended_yield`: a yield after
/// every critical section.
fn lock_contended(c: &mut Criterion) {
    let rt = multi_thread();
    for (name, yield_between) in [("lock_contended", false), ("lock_contended_yield", true)] {
        let mut g = c.benchmark_group(name);
        g.sample_size(10)
            .throughput(Throughput::Elements(ROUND_OPS as u64));
        for tasks in [2, 8, 64] {
            let y = yield_between;
            one_lock::<warden::Lock<u64>>(&mut g, &rt, tasks, y);
            one_lock::<tokio::sync::Mutex<u64>>(&mut g, &rt, tasks, y);
            one_lock::<async_lock::Mutex<u64>>(&mut g, &rt, tasks, y);
            one_lock::<saa::Mutex<u64>>(&mut g, &rt, tasks, y);
            one_lock::<lock::IntrusiveFair>(&mut g, &rt, tasks, y);
            one_lock::<lock::IntrusiveUnfair>(&mut g, &rt, tasks, y);
            one_lock::<maitake_sync::Mutex<u64>>(&mut g, &rt, tasks, y);
            one_lock::<futures_util::lock::Mutex<u64>>(&mut g, &rt, tasks, y);
            one_lock::<parking_lot::Mutex<u64>>(&mut g, &rt, tasks, y);
        }
        g.finish();
    }
}

fn one_handoff<L: CounterLock>(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime, tasks: usize) {
    let l = Arc::new(L::new());
    g.bench_with_input(BenchmarkId::new(L::NAME, tasks), &tasks, |b, &tasks| {
        b.iter(|| lock::handoff_round(rt, &l, tasks));
    });
}

/// `lock_handoff_ct`: every acquire waits, every release hands over, on one
/// thread (deterministic: no parked workers, no stealing).
fn lock_handoff(c: &mut Criterion) {
    let rt = current_thread();
    let mut g = c.benchmark_group("lock_handoff_ct");
    g.sample_size(20);
    for tasks in [2, 8] {
        g.throughput(Throughput::Elements((lock::HANDOFF_OPS * tasks) as u64));
        one_handoff::<warden::Lock<u64>>(&mut g, &rt, tasks);
        one_handoff::<tokio::sync::Mutex<u64>>(&mut g, &rt, tasks);
        one_handoff::<async_lock::Mutex<u64>>(&mut g, &rt, tasks);
        one_handoff::<saa::Mutex<u64>>(&mut g, &rt, tasks);
        one_handoff::<lock::IntrusiveFair>(&mut g, &rt, tasks);
        one_handoff::<lock::IntrusiveUnfair>(&mut g, &rt, tasks);
        one_handoff::<maitake_sync::Mutex<u64>>(&mut g, &rt, tasks);
        one_handoff::<futures_util::lock::Mutex<u64>>(&mut g, &rt, tasks);
    }
    g.finish();
}

fn one_pool<P: PermitPool>(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime) {
    let p = Arc::new(P::with_permits(sem::PERMITS));
    g.bench_function(P::NAME, |b| b.iter(|| sem::contended_round(rt, &p)));
}

fn semaphore_contended(c: &mut Criterion) {
    let rt = multi_thread();
    let mut g = c.benchmark_group("semaphore_contended");
    g.sample_size(10)
        .throughput(Throughput::Elements((sem::TASKS * sem::PER_TASK) as u64));
    one_pool::<warden::Semaphore>(&mut g, &rt);
    one_pool::<sem::Bounded>(&mut g, &rt);
    one_pool::<tokio::sync::Semaphore>(&mut g, &rt);
    one_pool::<async_lock::Semaphore>(&mut g, &rt);
    one_pool::<saa::Semaphore>(&mut g, &rt);
    one_pool::<sem::IntrusiveFair>(&mut g, &rt);
    one_pool::<sem::IntrusiveUnfair>(&mut g, &rt);
    one_pool::<maitake_sync::Semaphore>(&mut g, &rt);
    g.finish();
}

fn one_rwlock<L: PairLock>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    readers: usize,
    yield_between: bool,
) {
    let l = Arc::new(L::new());
    g.bench_with_input(
        BenchmarkId::new(L::NAME, readers),
        &readers,
        |b, &readers| {
            b.iter(|| rwlock::read_mostly_round(rt, &l, readers, yield_between));
        },
    );
}

/// `rwlock_read_mostly`: 1 writer : N readers, tight loops;
/// `rwlock_read_mostly_yield`: a yield after every release.
fn rwlock_read_mostly(c: &mut Criterion) {
    let rt = multi_thread();
    for (name, yield_between) in [
        ("rwlock_read_mostly", false),
        ("rwlock_read_mostly_yield", true),
    ] {
        let mut g = c.benchmark_group(name);
        g.sample_size(10);
        for readers in [2, 8, 64] {
            let ops = rwlock::ROUND_OPS / (readers + 1) * (readers + 1);
            g.throughput(Throughput::Elements(ops as u64));
            let y = yield_between;
            one_rwlock::<warden::RwLock<rwlock::Pair>>(&mut g, &rt, readers, y);
            one_rwlock::<rwlock::WardenLock>(&mut g, &rt, readers, y);
            one_rwlock::<tokio::sync::RwLock<rwlock::Pair>>(&mut g, &rt, readers, y);
            one_rwlock::<async_lock::RwLock<rwlock::Pair>>(&mut g, &rt, readers, y);
            one_rwlock::<maitake_sync::RwLock<rwlock::Pair>>(&mut g, &rt, readers, y);
        }
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = lock_contended, lock_handoff, semaphore_contended, rwlock_read_mostly
}
criterion_main!(benches);
