//! Uncontended acquire + release, and `RLock` re-entry.
//!
//! * `lock_uncontended`, `semaphore_uncontended`: each acquire future is
//!   polled once with a no-op waker (no runtime), then the guard dropped.
//!   `floor` is one `compare_exchange` + one `store` on an atomic: what any
//!   lock must at least do. `parking_lot` is the blocking reference.
//! * `*_rt`: the same acquire awaited in a task of a current-thread tokio
//!   runtime (coop budgets, real wakers).
//! * `rwlock_uncontended`: `read` and `write`, each acquire + drop of a free
//!   `RwLock`, one poll with a no-op waker (`parking_lot` blocking, as a
//!   reference).
//! * `rlock`, `rlock_rt`: `acquire` is acquire + drop of a free lock;
//!   `nested1` / `nested3` re-acquire 1 / 3 times while the outer guard is
//!   held (for `warden-lock`, a plain `Lock`: that many acquire + drop pairs).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use warden_benches::{current_thread, poll_ready};

/// Times `iters` runs of `$body` (with `$p` bound to the primitive) inside
/// one task of the current-thread runtime `$rt`.
macro_rules! in_task {
    ($b:expr, $rt:expr, $prim:expr, |$p:ident| $body:expr) => {{
        let prim = Arc::new($prim);
        $b.iter_custom(|iters| {
            let prim = Arc::clone(&prim);
            let task = $rt.spawn(async move {
                let $p = &*prim;
                let start = Instant::now();
                for _ in 0..iters {
                    black_box($body);
                }
                start.elapsed()
            });
            $rt.block_on(task).expect("benchmark task panicked")
        })
    }};
}

/// The floor: the least any lock does, one successful `compare_exchange`
/// (Acquire) and one `store` (Release).
fn floor_op(word: &AtomicUsize) {
    let taken = word
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_ok();
    assert!(taken);
    word.store(0, Ordering::Release);
}

fn lock_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("lock_uncontended");
    let l = warden::Lock::new(0_u64);
    g.bench_function("warden", |b| {
        b.iter(|| drop(poll_ready(black_box(&l).acquire())));
    });
    let l = tokio::sync::Mutex::new(0_u64);
    g.bench_function("tokio", |b| {
        b.iter(|| drop(poll_ready(black_box(&l).lock())));
    });
    let l = async_lock::Mutex::new(0_u64);
    g.bench_function("async-lock", |b| {
        b.iter(|| drop(poll_ready(black_box(&l).lock())));
    });
    let l = saa::Mutex::new(0_u64);
    g.bench_function("saa", |b| {
        b.iter(|| drop(poll_ready(saa::lock_async(black_box(&l)))));
    });
    let l = futures_intrusive::sync::Mutex::new(0_u64, true);
    g.bench_function("futures-intrusive", |b| {
        b.iter(|| drop(poll_ready(black_box(&l).lock())));
    });
    let l = futures_intrusive::sync::Mutex::new(0_u64, false);
    g.bench_function("futures-intrusive-unfair", |b| {
        b.iter(|| drop(poll_ready(black_box(&l).lock())));
    });
    let l = maitake_sync::Mutex::new(0_u64);
    g.bench_function("maitake-sync", |b| {
        b.iter(|| drop(poll_ready(black_box(&l).lock())));
    });
    let l = futures_util::lock::Mutex::new(0_u64);
    g.bench_function("futures-util", |b| {
        b.iter(|| drop(poll_ready(black_box(&l).lock())));
    });
    let l = parking_lot::Mutex::new(0_u64);
    g.bench_function("parking_lot", |b| b.iter(|| drop(black_box(&l).lock())));
    let w = AtomicUsize::new(0);
    g.bench_function("floor", |b| b.iter(|| floor_op(black_box(&w))));
    g.finish();
}

fn semaphore_uncontended(c: &mut Criterion) {
    const PERMITS: usize = 4;
    let mut g = c.benchmark_group("semaphore_uncontended");
    let s = warden::Semaphore::new(PERMITS);
    g.bench_function("warden", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire())));
    });
    let s = warden::BoundedSemaphore::new(PERMITS);
    g.bench_function("warden-bounded", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire())));
    });
    let s = tokio::sync::Semaphore::new(PERMITS);
    g.bench_function("tokio", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire())));
    });
    let s = async_lock::Semaphore::new(PERMITS);
    g.bench_function("async-lock", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire())));
    });
    let s = saa::Semaphore::with_permits(PERMITS);
    g.bench_function("saa", |b| {
        b.iter(|| {
            let s = black_box(&s);
            poll_ready(s.acquire_async());
            s.release()
        });
    });
    let s = futures_intrusive::sync::Semaphore::new(true, PERMITS);
    g.bench_function("futures-intrusive", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire(1))));
    });
    let s = futures_intrusive::sync::Semaphore::new(false, PERMITS);
    g.bench_function("futures-intrusive-unfair", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire(1))));
    });
    let s = maitake_sync::Semaphore::new(PERMITS);
    g.bench_function("maitake-sync", |b| {
        b.iter(|| drop(poll_ready(black_box(&s).acquire(1))));
    });
    let w = AtomicUsize::new(0);
    g.bench_function("floor", |b| b.iter(|| floor_op(black_box(&w))));
    g.finish();
}

fn lock_uncontended_rt(c: &mut Criterion) {
    let rt = current_thread();
    let mut g = c.benchmark_group("lock_uncontended_rt");
    g.bench_function("warden", |b| {
        in_task!(b, rt, warden::Lock::new(0_u64), |l| drop(l.acquire().await));
    });
    g.bench_function("tokio", |b| {
        in_task!(b, rt, tokio::sync::Mutex::new(0_u64), |l| drop(
            l.lock().await
        ));
    });
    g.bench_function("async-lock", |b| {
        in_task!(b, rt, async_lock::Mutex::new(0_u64), |l| drop(
            l.lock().await
        ));
    });
    g.bench_function("saa", |b| {
        in_task!(b, rt, saa::Mutex::new(0_u64), |l| drop(
            saa::lock_async(l).await
        ));
    });
    g.bench_function("futures-intrusive", |b| {
        in_task!(
            b,
            rt,
            futures_intrusive::sync::Mutex::new(0_u64, true),
            |l| drop(l.lock().await)
        );
    });
    g.bench_function("futures-intrusive-unfair", |b| {
        in_task!(
            b,
            rt,
            futures_intrusive::sync::Mutex::new(0_u64, false),
            |l| drop(l.lock().await)
        );
    });
    g.bench_function("maitake-sync", |b| {
        in_task!(b, rt, maitake_sync::Mutex::new(0_u64), |l| drop(
            l.lock().await
        ));
    });
    g.bench_function("futures-util", |b| {
        in_task!(b, rt, futures_util::lock::Mutex::new(0_u64), |l| drop(
            l.lock().await
        ));
    });
    g.finish();
}

fn semaphore_uncontended_rt(c: &mut Criterion) {
    const PERMITS: usize = 4;
    let rt = current_thread();
    let mut g = c.benchmark_group("semaphore_uncontended_rt");
    g.bench_function("warden", |b| {
        in_task!(b, rt, warden::Semaphore::new(PERMITS), |s| drop(
            s.acquire().await
        ));
    });
    g.bench_function("warden-bounded", |b| {
        in_task!(b, rt, warden::BoundedSemaphore::new(PERMITS), |s| drop(
            s.acquire().await
        ));
    });
    g.bench_function("tokio", |b| {
        in_task!(b, rt, tokio::sync::Semaphore::new(PERMITS), |s| drop(
            s.acquire().await
        ));
    });
    g.bench_function("async-lock", |b| {
        in_task!(b, rt, async_lock::Semaphore::new(PERMITS), |s| drop(
            s.acquire().await
        ));
    });
    g.bench_function("saa", |b| {
        in_task!(b, rt, saa::Semaphore::with_permits(PERMITS), |s| {
            s.acquire_async().await;
            s.release()
        });
    });
    g.bench_function("futures-intrusive", |b| {
        in_task!(
            b,
            rt,
            futures_intrusive::sync::Semaphore::new(true, PERMITS),
            |s| drop(s.acquire(1).await)
        );
    });
    g.bench_function("futures-intrusive-unfair", |b| {
        in_task!(
            b,
            rt,
            futures_intrusive::sync::Semaphore::new(false, PERMITS),
            |s| drop(s.acquire(1).await)
        );
    });
    g.bench_function("maitake-sync", |b| {
        in_task!(b, rt, maitake_sync::Semaphore::new(PERMITS), |s| drop(
            s.acquire(1).await
        ));
    });
    g.finish();
}

fn rwlock_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("rwlock_uncontended");
    let l = warden::RwLock::new(0_u64);
    g.bench_function(BenchmarkId::new("warden", "read"), |b| {
        b.iter(|| drop(poll_ready(black_box(&l).read())));
    });
    g.bench_function(BenchmarkId::new("warden", "write"), |b| {
        b.iter(|| drop(poll_ready(black_box(&l).write())));
    });
    let l = tokio::sync::RwLock::new(0_u64);
    g.bench_function(BenchmarkId::new("tokio", "read"), |b| {
        b.iter(|| drop(poll_ready(black_box(&l).read())));
    });
    g.bench_function(BenchmarkId::new("tokio", "write"), |b| {
        b.iter(|| drop(poll_ready(black_box(&l).write())));
    });
    let l = async_lock::RwLock::new(0_u64);
    g.bench_function(BenchmarkId::new("async-lock", "read"), |b| {
        b.iter(|| drop(poll_ready(black_box(&l).read())));
    });
    g.bench_function(BenchmarkId::new("async-lock", "write"), |b| {
        b.iter(|| drop(poll_ready(black_box(&l).write())));
    });
    let l = maitake_sync::RwLock::new(0_u64);
    g.bench_function(BenchmarkId::new("maitake-sync", "read"), |b| {
        b.iter(|| drop(poll_ready(black_box(&l).read())));
    });
    g.bench_function(BenchmarkId::new("maitake-sync", "write"), |b| {
        b.iter(|| drop(poll_ready(black_box(&l).write())));
    });
    let l = parking_lot::RwLock::new(0_u64);
    g.bench_function(BenchmarkId::new("parking_lot", "read"), |b| {
        b.iter(|| drop(black_box(&l).read()));
    });
    g.bench_function(BenchmarkId::new("parking_lot", "write"), |b| {
        b.iter(|| drop(black_box(&l).write()));
    });
    let w = AtomicUsize::new(0);
    g.bench_function(BenchmarkId::new("floor", "read"), |b| {
        b.iter(|| floor_op(black_box(&w)));
    });
    g.bench_function(BenchmarkId::new("floor", "write"), |b| {
        b.iter(|| floor_op(black_box(&w)));
    });
    g.finish();
}

/// `rlock` without a runtime: the owner is the current thread.
fn rlock(c: &mut Criterion) {
    let mut g = c.benchmark_group("rlock");
    let rlock = warden::RLock::new(0_u64);
    let lock = warden::Lock::new(0_u64);
    let reentrant = parking_lot::ReentrantMutex::new(0_u64);

    g.bench_function(BenchmarkId::new("warden", "acquire"), |b| {
        b.iter(|| drop(poll_ready(black_box(&rlock).acquire())));
    });
    g.bench_function(BenchmarkId::new("warden-lock", "acquire"), |b| {
        b.iter(|| drop(poll_ready(black_box(&lock).acquire())));
    });
    g.bench_function(BenchmarkId::new("parking_lot", "acquire"), |b| {
        b.iter(|| drop(black_box(&reentrant).lock()));
    });

    let outer = rlock.try_acquire().expect("free");
    g.bench_function(BenchmarkId::new("warden", "nested1"), |b| {
        b.iter(|| drop(poll_ready(black_box(&rlock).acquire())));
    });
    g.bench_function(BenchmarkId::new("warden", "nested3"), |b| {
        b.iter(|| {
            let first = poll_ready(black_box(&rlock).acquire());
            let second = poll_ready(black_box(&rlock).acquire());
            let third = poll_ready(black_box(&rlock).acquire());
            drop((third, second, first));
        });
    });
    drop(outer);
    g.bench_function(BenchmarkId::new("warden-lock", "nested1"), |b| {
        b.iter(|| drop(poll_ready(black_box(&lock).acquire())));
    });
    g.bench_function(BenchmarkId::new("warden-lock", "nested3"), |b| {
        b.iter(|| {
            for _ in 0..3 {
                drop(poll_ready(black_box(&lock).acquire()));
            }
        });
    });
    let outer = reentrant.lock();
    g.bench_function(BenchmarkId::new("parking_lot", "nested1"), |b| {
        b.iter(|| drop(black_box(&reentrant).lock()));
    });
    g.bench_function(BenchmarkId::new("parking_lot", "nested3"), |b| {
        b.iter(|| {
            let first = black_box(&reentrant).lock();
            let second = black_box(&reentrant).lock();
            let third = black_box(&reentrant).lock();
            drop((third, second, first));
        });
    });
    drop(outer);
    g.finish();
}

/// `rlock` inside a tokio task: the owner is the task.
fn rlock_rt(c: &mut Criterion) {
    let rt = current_thread();
    let mut g = c.benchmark_group("rlock_rt");
    g.bench_function(BenchmarkId::new("warden", "acquire"), |b| {
        in_task!(b, rt, warden::RLock::new(0_u64), |r| drop(
            r.acquire().await
        ));
    });
    g.bench_function(BenchmarkId::new("warden-lock", "acquire"), |b| {
        in_task!(b, rt, warden::Lock::new(0_u64), |l| drop(l.acquire().await));
    });
    g.bench_function(BenchmarkId::new("warden", "nested1"), |b| {
        nested_in_task(b, &rt, 1);
    });
    g.bench_function(BenchmarkId::new("warden", "nested3"), |b| {
        nested_in_task(b, &rt, 3);
    });
    g.bench_function(BenchmarkId::new("warden-lock", "nested1"), |b| {
        in_task!(b, rt, warden::Lock::new(0_u64), |l| drop(l.acquire().await));
    });
    g.bench_function(BenchmarkId::new("warden-lock", "nested3"), |b| {
        in_task!(b, rt, warden::Lock::new(0_u64), |l| {
            drop(l.acquire().await);
            drop(l.acquire().await);
            drop(l.acquire().await);
        });
    });
    g.finish();
}

/// `depth` re-acquisitions of an `RLock` the task already holds.
fn nested_in_task(b: &mut criterion::Bencher<'_>, rt: &Runtime, depth: usize) {
    let r = Arc::new(warden::RLock::new(0_u64));
    b.iter_custom(|iters| {
        let r = Arc::clone(&r);
        let task = rt.spawn(async move {
            let _outer = r.acquire().await;
            let start = Instant::now();
            for _ in 0..iters {
                if depth == 1 {
                    drop(black_box(r.acquire().await));
                } else {
                    let first = r.acquire().await;
                    let second = r.acquire().await;
                    let third = r.acquire().await;
                    drop(black_box((third, second, first)));
                }
            }
            start.elapsed()
        });
        rt.block_on(task).expect("benchmark task panicked")
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = lock_uncontended, semaphore_uncontended, lock_uncontended_rt,
        semaphore_uncontended_rt, rlock, rlock_rt, rwlock_uncontended
}
criterion_main!(benches);
