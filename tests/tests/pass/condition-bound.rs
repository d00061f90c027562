//! `#[condition(lock)]`: the field becomes a `BoundCondition<QueueLock>`
//! with every wait of `Condition` (async, with timeout, blocking), taking
//! only the guards of `lock`; two conditions may share one lock; a lock
//! that guards no field still gets a data struct, so its conditions are
//! bound to it alone. The same field of *another instance* has the same
//! type, and stays `Condition`'s run-time check.

use std::collections::VecDeque;
use std::mem::size_of;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;
use warden::{BoundCondition, Condition, Lock, guarded};

#[guarded]
pub struct Queue {
    lock: Lock,
    #[guarded(lock)]
    items: VecDeque<u32>,
    #[guarded(lock)]
    capacity: usize,
    #[condition(lock)]
    not_empty: Condition,
    #[condition(lock)]
    not_full: Condition,
}

impl Queue {
    fn with_capacity(capacity: usize) -> Queue {
        Queue::new(QueueInit {
            lock: Lock::new(()),
            items: VecDeque::new(),
            capacity,
            not_empty: Condition::new(),
            not_full: Condition::new(),
        })
    }

    async fn put(&self, item: u32) {
        let g = self.lock.acquire().await;
        let mut g = self
            .not_full
            .wait_for(g, |q| q.items.len() < q.capacity)
            .await;
        g.items.push_back(item);
        drop(g);
        self.not_empty.notify_one();
    }

    async fn get(&self) -> u32 {
        let mut g = self.lock.acquire().await;
        while g.items.is_empty() {
            g = self.not_empty.wait(g).await;
        }
        let item = g.items.pop_front().unwrap();
        drop(g);
        self.not_full.notify_one();
        item
    }
}

// A lock that guards no field: `ReadyLock` is empty, and `changed` waits
// only with `lock`'s guard.
#[guarded]
pub struct Ready {
    lock: Lock,
    #[condition(lock)]
    changed: Condition,
}

fn send_sync_unpin<T: Send + Sync + Unpin>() {}

fn send<T: Send>(value: T) -> T {
    value
}

fn main() {
    // Auto traits: the data type only brands it (`PhantomData<fn() -> T>`),
    // so a `BoundCondition` is `Send + Sync + Unpin` whatever the data.
    send_sync_unpin::<BoundCondition<u32>>();
    send_sync_unpin::<BoundCondition<std::rc::Rc<u32>>>();
    send_sync_unpin::<BoundCondition<std::cell::Cell<u32>>>();

    // The field's type, and its cost: exactly a `Condition`.
    let q = Queue::with_capacity(1);
    let _: &BoundCondition<QueueLock> = &q.not_empty;
    assert_eq!(size_of::<BoundCondition<QueueLock>>(), size_of::<Condition>());
    let ready = Ready::new(ReadyInit {
        lock: Lock::new(()),
        changed: Condition::new(),
    });
    let _: &Lock<ReadyLock> = &ready.lock;
    let _: &BoundCondition<ReadyLock> = &ready.changed;
    assert_eq!(size_of::<ReadyLock>(), 0);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        // wait / wait_for / notify_one, two conditions on one lock.
        let q = Arc::new(Queue::with_capacity(2));
        let consumer = tokio::spawn({
            let q = q.clone();
            async move {
                let mut sum = 0;
                for _ in 0..50 {
                    sum += q.get().await;
                }
                sum
            }
        });
        for i in 1..=50 {
            q.put(i).await;
        }
        assert_eq!(consumer.await.unwrap(), 1275);
        assert_eq!(q.not_empty.waiters() + q.not_full.waiters(), 0);

        // wait_timeout: nobody notifies, so it times out and re-takes the lock.
        let g = q.lock.acquire().await;
        // Its futures are `Send` (with `Send` data): they may be spawned.
        let (g, notified) = send(q.not_empty.wait_timeout(g, Duration::from_millis(1))).await;
        assert!(!notified);
        assert!(g.items.is_empty());
        drop(g);

        // notify / notify_all wake the waiters of a lock guarding nothing.
        let ready = Arc::new(Ready::new(ReadyInit {
            lock: Lock::new(()),
            changed: Condition::new(),
        }));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let ready = ready.clone();
                tokio::spawn(async move {
                    let g = ready.lock.acquire().await;
                    drop(ready.changed.wait(g).await);
                })
            })
            .collect();
        while ready.changed.waiters() < 3 {
            tokio::task::yield_now().await;
        }
        ready.changed.notify(2);
        ready.changed.notify_all();
        for w in waiters {
            w.await.unwrap();
        }
    });

    // The blocking twins, on plain threads.
    let q = Arc::new(Queue::with_capacity(1));
    let waiter = std::thread::spawn({
        let q = q.clone();
        move || {
            let g = q.lock.acquire_blocking();
            let mut g = q.not_empty.wait_for_blocking(g, |q| !q.items.is_empty());
            let first = g.items.pop_front().unwrap();
            while g.items.is_empty() {
                g = q.not_empty.wait_blocking(g);
            }
            first + g.items.pop_front().unwrap()
        }
    });
    for item in [20, 22] {
        loop {
            let mut g = q.lock.acquire_blocking();
            if g.items.is_empty() {
                g.items.push_back(item);
                break;
            }
        }
        q.not_empty.notify_all();
    }
    assert_eq!(waiter.join().unwrap(), 42);
    let (g, notified) = q
        .not_full
        .wait_timeout_blocking(q.lock.acquire_blocking(), Duration::from_millis(1));
    assert!(!notified);
    drop(g);

    // Another instance's lock has the same type: `Condition`'s run-time
    // check catches it (`q` is tied to its own lock by the waits above).
    let other = Queue::with_capacity(1);
    std::panic::set_hook(Box::new(|_| {})); // the expected panic, silenced
    let wrong_instance = catch_unwind(AssertUnwindSafe(|| {
        drop(q.not_full.wait_blocking(other.lock.acquire_blocking()));
    }));
    drop(std::panic::take_hook());
    let message = *wrong_instance.unwrap_err().downcast::<&str>().unwrap();
    assert!(message.contains("two different locks"), "{message}");
    assert!(!other.lock.locked()); // the guard was dropped as it unwound

    // Written by hand, a `BoundCondition<T>` binds to any `Lock<T>`.
    let count = Lock::new(0_u32);
    let cond: BoundCondition<u32> = BoundCondition::default();
    let (g, notified) = cond.wait_timeout_blocking(count.acquire_blocking(), Duration::from_millis(1));
    assert!(!notified);
    assert_eq!(*g, 0);
}
