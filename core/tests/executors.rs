//! Every primitive on executors that are not tokio: `futures`' `LocalPool`
//! (many tasks on one thread) and `ThreadPool` (tasks on several threads).
//! The waits without a timeout need no runtime, so this file runs with and
//! without warden's `tokio` feature (`cargo test -p warden-sync
//! --no-default-features` runs it alone).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use futures::executor::{LocalPool, ThreadPool, block_on};
use futures::task::{LocalSpawnExt, SpawnExt};
use warden::{Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore};

const TASKS: usize = 16;
const ROUNDS: usize = 50;

/// Runs `make(i)` for `TASKS` tasks on a `LocalPool` until all finish.
fn on_local_pool<F: Future<Output = ()> + 'static>(make: impl Fn(usize) -> F) {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    for i in 0..TASKS {
        spawner.spawn_local(make(i)).unwrap();
    }
    pool.run();
}

/// Runs `make(i)` for `TASKS` tasks on a 3-thread `ThreadPool` and waits
/// for all of them.
fn on_thread_pool<F: Future<Output = ()> + Send + 'static>(make: impl Fn(usize) -> F) {
    let pool = ThreadPool::builder().pool_size(3).create().unwrap();
    let handles: Vec<_> = (0..TASKS)
        .map(|i| pool.spawn_with_handle(make(i)).unwrap())
        .collect();
    block_on(futures::future::join_all(handles));
}

/// A yield point for executors without tokio's `yield_now`.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[test]
fn lock_excludes_tasks_on_both_pools() {
    let lock = Arc::new(Lock::new((0_usize, 0_usize)));
    let body = |lock: Arc<Lock<(usize, usize)>>| async move {
        for _ in 0..ROUNDS {
            let mut g = lock.acquire().await;
            g.0 += 1;
            yield_now().await; // held across a switch to other tasks
            g.1 += 1;
            assert_eq!(g.0, g.1, "two tasks inside");
        }
    };
    on_local_pool(|_| body(lock.clone()));
    on_thread_pool(|_| body(lock.clone()));
    assert_eq!(lock.try_acquire().unwrap().0, 2 * TASKS * ROUNDS);
}

#[test]
fn rlock_reenters_within_a_task_on_a_thread_pool() {
    // On these executors the owner is the thread (see RLock's docs): one
    // task's nested acquires re-enter; tasks on other threads wait.
    let rl = Arc::new(RLock::new(AtomicUsize::new(0)));
    on_thread_pool(|_| {
        let rl = rl.clone();
        async move {
            for _ in 0..ROUNDS {
                let outer = rl.acquire().await;
                let inner = rl.acquire().await; // re-entry
                outer.fetch_add(1, SeqCst);
                drop((inner, outer));
            }
        }
    });
    block_on(async {
        let g = rl.acquire().await;
        assert_eq!(g.load(SeqCst), TASKS * ROUNDS);
    });
    assert!(!rl.locked());
}

#[test]
fn semaphores_bound_concurrency_on_both_pools() {
    let sem = Arc::new(Semaphore::new(3));
    let bounded = Arc::new(BoundedSemaphore::new(2));
    let inside = Arc::new(AtomicUsize::new(0));
    let body = |sem: Arc<Semaphore>, bounded: Arc<BoundedSemaphore>, inside: Arc<AtomicUsize>| async move {
        for round in 0..ROUNDS {
            let _p = sem.acquire().await;
            let _b = bounded.acquire_many(1 + round % 2).await;
            assert!(
                inside.fetch_add(1, SeqCst) < 2,
                "more than the bound inside"
            );
            yield_now().await;
            inside.fetch_sub(1, SeqCst);
        }
    };
    on_local_pool(|_| body(sem.clone(), bounded.clone(), inside.clone()));
    on_thread_pool(|_| body(sem.clone(), bounded.clone(), inside.clone()));
    assert_eq!(sem.available_permits(), 3);
    assert_eq!(bounded.available_permits(), 2);
    assert!(bounded.release(1).is_err(), "still bounded");
}

#[test]
fn event_releases_every_waiter_on_both_pools() {
    for pool in 0..2 {
        let ev = Arc::new(Event::new());
        let released = Arc::new(AtomicUsize::new(0));
        let body = |i: usize, ev: Arc<Event>, released: Arc<AtomicUsize>| async move {
            if i == 0 {
                yield_now().await;
                ev.set();
                ev.clear(); // every waiter that was waiting is released anyway
            } else {
                ev.wait().await;
                released.fetch_add(1, SeqCst);
            }
        };
        // Waiters that arrive after the clear would wait forever: let them
        // all register first (task 0 yields once; the set comes after the
        // other tasks' first polls on a LocalPool, which polls in order).
        if pool == 0 {
            on_local_pool(|i| body(i, ev.clone(), released.clone()));
            assert_eq!(released.load(SeqCst), TASKS - 1);
        } else {
            // On several threads the order is not known: set and keep it set.
            let ev2 = ev.clone();
            on_thread_pool(move |i| {
                let (ev, released) = (ev2.clone(), released.clone());
                async move {
                    if i == 0 {
                        ev.set();
                    } else {
                        ev.wait().await;
                        released.fetch_add(1, SeqCst);
                    }
                }
            });
        }
        assert_eq!(ev.waiters(), 0);
    }
}

type Queue = Arc<(Lock<Vec<usize>>, Condition)>;

/// Half the tasks produce `ROUNDS` items each, half consume as many.
async fn produce_or_consume(i: usize, q: Queue, taken: Arc<AtomicUsize>) {
    let (lock, cond) = &*q;
    for n in 0..ROUNDS {
        if i.is_multiple_of(2) {
            lock.acquire().await.push(n);
            cond.notify_one();
        } else {
            let mut items = cond.wait_for(lock.acquire().await, |v| !v.is_empty()).await;
            items.pop().unwrap();
            taken.fetch_add(1, SeqCst);
        }
    }
}

#[test]
fn condition_hands_items_from_producers_to_consumers_on_both_pools() {
    for pool in 0..2 {
        let q: Queue = Arc::new((Lock::new(Vec::new()), Condition::new()));
        let taken = Arc::new(AtomicUsize::new(0));
        if pool == 0 {
            on_local_pool(|i| produce_or_consume(i, q.clone(), taken.clone()));
        } else {
            on_thread_pool(|i| produce_or_consume(i, q.clone(), taken.clone()));
        }
        assert_eq!(taken.load(SeqCst), TASKS / 2 * ROUNDS);
        assert!(block_on(q.0.acquire()).is_empty());
    }
}

#[test]
fn barrier_trips_generations_with_an_action_on_both_pools() {
    for pool in 0..2 {
        let actions = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::with_action(TASKS, {
            let actions = actions.clone();
            move || {
                actions.fetch_add(1, SeqCst);
            }
        }));
        let leaders = Arc::new(AtomicUsize::new(0));
        let body = |barrier: Arc<Barrier>, leaders: Arc<AtomicUsize>| async move {
            for _ in 0..5 {
                if barrier.wait().await.unwrap().is_leader() {
                    leaders.fetch_add(1, SeqCst);
                }
            }
        };
        if pool == 0 {
            on_local_pool(|_| body(barrier.clone(), leaders.clone()));
        } else {
            on_thread_pool(|_| body(barrier.clone(), leaders.clone()));
        }
        assert_eq!(actions.load(SeqCst), 5);
        assert_eq!(leaders.load(SeqCst), 5);
        assert_eq!(barrier.n_waiting(), 0);
    }
}
