//! Behaviours of CPython's `Lib/test/lock_tests.py` (threads) and
//! `Lib/test/test_asyncio/test_locks.py` (tasks), ported to warden's `Lock`,
//! `Semaphore`, `BoundedSemaphore` and `Event`. Each test names the CPython test
//! it ports; the Rust is our own.
//!
//! What does not port, and why:
//!
//! * Releasing a lock that is not held (`RuntimeError` in Python), and
//!   `acquire(blocking=False, timeout=1)` / negative timeouts / negative
//!   semaphore values (`ValueError`): unwritable in Rust. The only way to
//!   release is dropping a guard, which only `acquire` hands out; a timeout
//!   is a `Duration` and a count a `usize`, neither of which can be negative.
//! * Python's `threading.Lock` may be released by a thread other than the
//!   one that acquired it. warden's equivalent is moving the guard: the
//!   guard is `Send`, so the "different thread" is whoever the guard was
//!   moved to (see `lock::test_different_thread`).
//! * Timings (`assertTimeout`): tests never assert elapsed time. Timeouts
//!   run on tokio's paused clock where they must expire, and waits are for
//!   conditions (a waiter is queued), never for durations.
//! * `repr` becomes `Debug`; its format is tested in the per-type files.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{until, until_blocking, within};
use tokio::sync::oneshot;
use tokio::time::timeout;

/// Python's `Bunch`: `n` plain threads running `f`, joined by `wait`.
struct Bunch(Vec<std::thread::JoinHandle<()>>);

impl Bunch {
    fn new(n: usize, f: impl Fn() + Send + Sync + 'static) -> Self {
        let f = Arc::new(f);
        Bunch(
            (0..n)
                .map(|_| {
                    let f = f.clone();
                    std::thread::spawn(move || f())
                })
                .collect(),
        )
    }

    fn finished(&self) -> usize {
        self.0.iter().filter(|t| t.is_finished()).count()
    }

    fn wait_for_finished(self) {
        for t in self.0 {
            t.join().unwrap();
        }
    }
}

mod lock {
    use super::*;
    use warden::{Lock, OwnedLockGuard};

    /// `BaseLockTests.test_acquire_destroy`: a lock may be dropped while
    /// held (here: its guard forgotten), as long as nobody waits.
    #[test]
    fn test_acquire_destroy() {
        let lock = Lock::new(());
        std::mem::forget(lock.try_acquire().unwrap());
        drop(lock);
        let lock = Arc::new(Lock::new(()));
        let guard = lock.clone().try_acquire_owned().unwrap();
        drop(lock); // the guard keeps its lock alive
        drop(guard);
    }

    /// `test_acquire_release`, `test_try_acquire`, asyncio `test_lock`,
    /// `test_release_no_waiters`, `test_context_manager`.
    #[tokio::test]
    async fn test_acquire_release() {
        let lock = Lock::new(());
        assert!(!lock.locked());
        {
            let _g = lock.acquire().await;
            assert!(lock.locked());
        }
        assert!(!lock.locked());
        let g = lock.try_acquire().expect("acquire(False) on a free lock");
        drop(g);
        assert!(!lock.locked());
    }

    /// `test_try_acquire_contended`: `acquire(False)` from another thread
    /// fails while the lock is held.
    #[test]
    fn test_try_acquire_contended() {
        let lock = Arc::new(Lock::new(()));
        let _held = lock.try_acquire().unwrap();
        let result = Arc::new(Mutex::new(Vec::new()));
        Bunch::new(1, {
            let (lock, result) = (lock.clone(), result.clone());
            move || result.lock().unwrap().push(lock.try_acquire().is_some())
        })
        .wait_for_finished();
        assert_eq!(*result.lock().unwrap(), [false]);
    }

    /// `test_acquire_contended`: five threads block until the lock is
    /// released, then all finish.
    #[test]
    fn test_acquire_contended() {
        const N: usize = 5;
        let lock = Arc::new(Lock::new(()));
        let held = lock.try_acquire().unwrap();
        let bunch = Bunch::new(N, {
            let lock = lock.clone();
            move || drop(lock.acquire_blocking())
        });
        until_blocking("all threads queued", || lock.__waiter_records() == N);
        assert_eq!(bunch.finished(), 0);
        drop(held);
        bunch.wait_for_finished();
        assert!(!lock.locked());
    }

    /// `test_with`: the guard releases at the end of its scope, and also
    /// when the scope is left by a panic (Python: by an exception).
    #[test]
    fn test_with() {
        let lock = Arc::new(Lock::new(0));
        let with = |fail: bool| {
            let mut g = lock.acquire_blocking();
            *g += 1;
            assert!(!fail, "TypeError");
        };
        with(false);
        Bunch::new(1, {
            let lock = lock.clone();
            move || drop(lock.acquire_blocking())
        })
        .wait_for_finished();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with(true)));
        assert!(r.is_err());
        Bunch::new(1, {
            let lock = lock.clone();
            move || drop(lock.acquire_blocking())
        })
        .wait_for_finished();
        assert_eq!(*lock.try_acquire().unwrap(), 2);
    }

    /// `test_thread_leak` becomes: many threads acquiring and releasing
    /// leave no waiter record behind.
    #[test]
    fn test_thread_leak() {
        let lock = Arc::new(Lock::new(0));
        Bunch::new(15, {
            let lock = lock.clone();
            move || *lock.acquire_blocking() += 1
        })
        .wait_for_finished();
        assert_eq!(*lock.try_acquire().unwrap(), 15);
        assert_eq!(lock.__waiter_records(), 0);
    }

    /// `test_timeout`: a free lock is taken at once even with a long (or
    /// the longest) timeout; a held one times out, from another task.
    #[tokio::test(start_paused = true)]
    async fn test_timeout() {
        let lock = Arc::new(Lock::new(()));
        drop(timeout(Duration::MAX, lock.acquire()).await.unwrap());
        let g = timeout(Duration::from_secs(5), lock.acquire())
            .await
            .unwrap();
        let other = tokio::spawn({
            let lock = lock.clone();
            async move {
                timeout(Duration::from_millis(500), lock.acquire())
                    .await
                    .is_ok()
            }
        });
        assert!(!other.await.unwrap());
        drop(g);
        assert_eq!(lock.__waiter_records(), 0);
    }

    /// `LockTests.test_reacquire`: a `Lock` is not re-entrant; a second
    /// acquire by the holder waits until the first is released — here by
    /// the main task, to which the holder moved its guard.
    #[tokio::test]
    async fn test_reacquire() {
        let lock = Arc::new(Lock::new(()));
        let phase = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel::<OwnedLockGuard<()>>();
        let t = tokio::spawn({
            let (lock, phase) = (lock.clone(), phase.clone());
            async move {
                let first = lock.clone().acquire_owned().await;
                phase.store(1, Ordering::SeqCst);
                tx.send(first).unwrap(); // hand the release to main
                let _second = lock.acquire().await;
                phase.store(2, Ordering::SeqCst);
            }
        });
        let first = rx.await.unwrap();
        until("the second acquire queued", || lock.__waiter_records() == 1).await;
        assert_eq!(phase.load(Ordering::SeqCst), 1);
        drop(first);
        within("the re-acquire", t).await.unwrap();
        assert_eq!(phase.load(Ordering::SeqCst), 2);
    }

    /// `LockTests.test_different_thread`: Python releases from another
    /// thread; warden moves the guard there and drops it. (Releasing a lock
    /// that no guard holds cannot be written: there is no `release` method.)
    #[test]
    fn test_different_thread() {
        let lock = Arc::new(Lock::new(()));
        let guard = lock.clone().try_acquire_owned().unwrap();
        std::thread::spawn(move || drop(guard)).join().unwrap();
        drop(lock.acquire_blocking());
        // The borrowed guard too, with a scoped thread.
        let g = lock.try_acquire().unwrap();
        std::thread::scope(|s| {
            s.spawn(move || drop(g));
        });
        assert!(!lock.locked());
    }

    /// `LockTests.test_state_after_timeout` (issue #11618): a timed-out
    /// acquire leaves the lock in a proper state.
    #[tokio::test(start_paused = true)]
    async fn test_state_after_timeout() {
        // The timed acquire runs in another task: in debug builds a task
        // that waits for a Lock it holds itself panics (see `Lock` docs).
        let lock = Arc::new(Lock::new(()));
        let g = lock.acquire().await;
        let other = tokio::spawn({
            let lock = lock.clone();
            async move {
                timeout(Duration::from_millis(10), lock.acquire())
                    .await
                    .is_err()
            }
        });
        assert!(other.await.unwrap());
        drop(g);
        assert!(!lock.locked());
        assert!(lock.try_acquire().is_some());
    }

    /// asyncio `test_acquire`: waiters get the lock in arrival order; each
    /// "release" by the main task drops a guard the holder handed back.
    #[tokio::test]
    async fn test_acquire_order() {
        let lock = Arc::new(Lock::new(()));
        let result = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<OwnedLockGuard<()>>();
        let task = |n: i32| {
            let (lock, result, tx) = (lock.clone(), result.clone(), tx.clone());
            tokio::spawn(async move {
                let g = lock.acquire_owned().await;
                result.lock().unwrap().push(n);
                tx.send(g).unwrap(); // keeps it held; main releases it
            })
        };
        let held = lock.acquire().await;
        let t1 = task(1);
        let t2 = task(2);
        until("c1, c2 queued", || lock.__waiter_records() == 2).await;
        assert!(result.lock().unwrap().is_empty());
        drop(held);
        let g1 = rx.recv().await.unwrap();
        assert_eq!(*result.lock().unwrap(), [1]);
        let t3 = task(3);
        until("c3 queued", || lock.__waiter_records() == 2).await;
        drop(g1);
        let g2 = rx.recv().await.unwrap();
        assert_eq!(*result.lock().unwrap(), [1, 2]);
        drop(g2);
        let g3 = rx.recv().await.unwrap();
        assert_eq!(*result.lock().unwrap(), [1, 2, 3]);
        drop(g3);
        for t in [t1, t2, t3] {
            t.await.unwrap();
        }
        assert!(!lock.locked());
    }

    /// asyncio `test_acquire_cancel`: a cancelled acquire leaves no waiter.
    #[tokio::test]
    async fn test_acquire_cancel() {
        let lock = Arc::new(Lock::new(()));
        let _held = lock.acquire().await;
        let task = tokio::spawn({
            let lock = lock.clone();
            async move { drop(lock.acquire().await) }
        });
        until("queued", || lock.__waiter_records() == 1).await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(lock.__waiter_records(), 0);
    }

    /// asyncio `test_cancel_race`: A holds, B and C wait; B is cancelled
    /// while A releases: C must get the lock, and the lock ends free.
    #[tokio::test]
    async fn test_cancel_race() {
        let lock = Arc::new(Lock::new(Vec::new()));
        let lockit = |name: char, blocker: Option<oneshot::Receiver<()>>| {
            let lock = lock.clone();
            tokio::spawn(async move {
                let mut g = lock.acquire().await;
                if let Some(blocker) = blocker {
                    blocker.await.unwrap();
                }
                g.push(name);
            })
        };
        let (fa, blocker) = oneshot::channel();
        let ta = lockit('A', Some(blocker));
        until("A holds", || lock.locked()).await;
        let tb = lockit('B', None);
        until("B waits", || lock.__waiter_records() == 1).await;
        let tc = lockit('C', None);
        until("C waits", || lock.__waiter_records() == 2).await;
        fa.send(()).unwrap();
        tb.abort();
        within("A", ta).await.unwrap();
        assert!(tb.await.unwrap_err().is_cancelled());
        within("C", tc).await.unwrap();
        assert!(!lock.locked());
        assert_eq!(*lock.acquire().await, ['A', 'C']);
    }

    /// asyncio `test_cancel_release_race` (bpo-32734): cancelling the first
    /// waiter while releasing must not let two waiters in at once.
    #[tokio::test]
    async fn test_cancel_release_race() {
        let lock = Arc::new(Lock::new(()));
        let lock_count = Arc::new(AtomicUsize::new(0));
        let lockit = || {
            let (lock, count) = (lock.clone(), lock_count.clone());
            tokio::spawn(async move {
                let g = lock.acquire().await;
                count.fetch_add(1, Ordering::SeqCst);
                std::mem::forget(g); // like asyncio's test: never released
            })
        };
        let held = lock.acquire().await;
        let (t1, t2, t3) = (lockit(), lockit(), lockit());
        until("three queued", || lock.__waiter_records() == 3).await;
        t1.abort();
        drop(held);
        assert!(t1.await.unwrap_err().is_cancelled());
        within("t2", t2).await.unwrap();
        assert_eq!(lock_count.load(Ordering::SeqCst), 1);
        assert_eq!(lock.__waiter_records(), 1, "t3 still waits");
        t3.abort();
        assert!(t3.await.unwrap_err().is_cancelled());
        assert_eq!(lock.__waiter_records(), 0);
    }

    /// asyncio `test_finished_waiter_cancelled`: a waiter woken and then
    /// cancelled passes the lock on to the next one.
    #[tokio::test]
    async fn test_finished_waiter_cancelled() {
        let lock = Arc::new(Lock::new(0));
        let held = lock.acquire().await;
        let waiter = || {
            let lock = lock.clone();
            tokio::spawn(async move { *lock.acquire().await += 1 })
        };
        let tb = waiter();
        until("tb queued", || lock.__waiter_records() == 1).await;
        let tc = waiter();
        until("tc queued", || lock.__waiter_records() == 2).await;
        tb.abort();
        drop(held);
        assert!(tb.await.unwrap_err().is_cancelled());
        within("tc", tc).await.unwrap();
        assert_eq!(*lock.acquire().await, 1);
    }
}

/// The tests CPython runs for both `Semaphore` and `BoundedSemaphore`
/// (`BaseSemaphoreTests`), written once against this trait.
trait AnySemaphore: Send + Sync + Sized + 'static {
    fn make(n: usize) -> Self;
    fn acquire(&self) -> warden::futures::SemaphoreAcquire<'_>;
    fn acquire_blocking(&self) -> warden::SemaphorePermit<'_>;
    fn try_acquire(&self) -> Option<warden::SemaphorePermit<'_>>;
    /// Gives back `n` permits taken with `forget()` (must be accepted).
    fn give_back(&self, n: usize);
    fn available(&self) -> usize;
    fn records(&self) -> usize;
}

impl AnySemaphore for warden::Semaphore {
    fn make(n: usize) -> Self {
        Self::new(n)
    }
    fn acquire(&self) -> warden::futures::SemaphoreAcquire<'_> {
        self.acquire()
    }
    fn acquire_blocking(&self) -> warden::SemaphorePermit<'_> {
        self.acquire_blocking()
    }
    fn try_acquire(&self) -> Option<warden::SemaphorePermit<'_>> {
        self.try_acquire()
    }
    fn give_back(&self, n: usize) {
        self.release(n);
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
    fn records(&self) -> usize {
        self.__waiter_records()
    }
}

impl AnySemaphore for warden::BoundedSemaphore {
    fn make(n: usize) -> Self {
        Self::new(n)
    }
    fn acquire(&self) -> warden::futures::SemaphoreAcquire<'_> {
        self.acquire()
    }
    fn acquire_blocking(&self) -> warden::SemaphorePermit<'_> {
        self.acquire_blocking()
    }
    fn try_acquire(&self) -> Option<warden::SemaphorePermit<'_>> {
        self.try_acquire()
    }
    fn give_back(&self, n: usize) {
        self.release(n).expect("giving back forgotten permits");
    }
    fn available(&self) -> usize {
        self.available_permits()
    }
    fn records(&self) -> usize {
        self.__waiter_records()
    }
}

mod base_semaphore {
    use super::*;

    /// `test_acquire`.
    pub fn acquire<S: AnySemaphore>() {
        let sem = S::make(1);
        drop(sem.acquire_blocking());
        let sem = S::make(2);
        let a = sem.acquire_blocking();
        let b = sem.acquire_blocking();
        assert_eq!(sem.available(), 0);
        drop((a, b));
        assert_eq!(sem.available(), 2);
    }

    /// `test_acquire_destroy`.
    pub fn acquire_destroy<S: AnySemaphore>() {
        let sem = S::make(1);
        sem.acquire_blocking().forget();
        drop(sem);
    }

    /// `test_acquire_contended`, with five threads and five tasks sharing
    /// the semaphore (CPython uses ten threads): each acquires twice, in
    /// phases released by the main task.
    pub async fn acquire_contended<S: AnySemaphore>() {
        let sem = Arc::new(S::make(7));
        sem.acquire_blocking().forget();
        let phase = Arc::new(AtomicUsize::new(0));
        let results = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        let record = {
            let (phase, results) = (phase.clone(), results.clone());
            move |second: bool| {
                let p = phase.load(Ordering::SeqCst);
                let mut r = results.lock().unwrap();
                if second { r.1.push(p) } else { r.0.push(p) }
            }
        };
        let threads: Vec<_> = (0..5)
            .map(|_| {
                let (sem, record) = (sem.clone(), record.clone());
                std::thread::spawn(move || {
                    sem.acquire_blocking().forget();
                    record(false);
                    sem.acquire_blocking().forget();
                    record(true);
                })
            })
            .collect();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let (sem, record) = (sem.clone(), record.clone());
                tokio::spawn(async move {
                    sem.acquire().await.forget();
                    record(false);
                    sem.acquire().await.forget();
                    record(true);
                })
            })
            .collect();
        let count = || {
            let r = results.lock().unwrap();
            r.0.len() + r.1.len()
        };
        let all_sorted = || {
            let r = results.lock().unwrap();
            let mut all: Vec<_> = r.0.iter().chain(&r.1).copied().collect();
            all.sort_unstable();
            all
        };
        // Everyone not finished waits (a thread or task may take both).
        let finished = || results.lock().unwrap().1.len();
        until("6 acquisitions", || {
            count() == 6 && sem.records() == 10 - finished()
        })
        .await;
        assert_eq!(all_sorted(), [0; 6]);
        phase.store(1, Ordering::SeqCst);
        for _ in 0..7 {
            sem.give_back(1);
        }
        until("13 acquisitions", || count() == 13).await;
        assert_eq!(all_sorted(), [[0; 6].as_slice(), &[1; 7]].concat());
        phase.store(2, Ordering::SeqCst);
        for _ in 0..6 {
            sem.give_back(1);
        }
        until("19 acquisitions", || count() == 19).await;
        assert_eq!(all_sorted(), [[0; 6].as_slice(), &[1; 7], &[2; 6]].concat());
        assert!(sem.try_acquire().is_none(), "the semaphore is still locked");
        sem.give_back(1); // lets the last one finish
        for t in tasks {
            within("a task", t).await.unwrap();
        }
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sem.records(), 0);
    }

    /// `test_try_acquire`.
    pub fn try_acquire<S: AnySemaphore>() {
        let sem = S::make(2);
        let a = sem.try_acquire().unwrap();
        let b = sem.try_acquire().unwrap();
        assert!(sem.try_acquire().is_none());
        drop(a);
        assert!(sem.try_acquire().is_some());
        drop(b);
    }

    /// `test_try_acquire_contended`: five threads try twice each; three
    /// of the ten tries succeed.
    pub fn try_acquire_contended<S: AnySemaphore>() {
        let sem = Arc::new(S::make(4));
        sem.acquire_blocking().forget();
        let results = Arc::new(Mutex::new(Vec::new()));
        Bunch::new(5, {
            let (sem, results) = (sem.clone(), results.clone());
            move || {
                for _ in 0..2 {
                    let got = sem.try_acquire().map(warden::SemaphorePermit::forget);
                    results.lock().unwrap().push(got.is_some());
                }
            }
        })
        .wait_for_finished();
        let mut r = results.lock().unwrap().clone();
        r.sort_unstable();
        assert_eq!(r, [[false; 7].as_slice(), &[true; 3]].concat());
    }

    /// `test_acquire_timeout`.
    pub async fn acquire_timeout<S: AnySemaphore>() {
        let sem = S::make(2);
        let ms = Duration::from_millis(5);
        timeout(ms, sem.acquire()).await.unwrap().forget();
        timeout(ms, sem.acquire()).await.unwrap().forget();
        assert!(timeout(ms, sem.acquire()).await.is_err());
        sem.give_back(1);
        timeout(ms, sem.acquire()).await.unwrap().forget();
        assert!(
            timeout(Duration::from_millis(500), sem.acquire())
                .await
                .is_err()
        );
        assert_eq!(sem.records(), 0);
    }

    /// `test_default_value`: `Semaphore()` has one permit
    /// (`BoundedSemaphore` has no `Default`; it is built with 1 explicitly).
    pub fn default_value<S: AnySemaphore>(sem: S) {
        let sem = Arc::new(sem);
        let held = sem.acquire_blocking();
        let bunch = Bunch::new(1, {
            let sem = sem.clone();
            move || drop(sem.acquire_blocking())
        });
        until_blocking("the thread queued", || sem.records() == 1);
        assert_eq!(bunch.finished(), 0);
        drop(held);
        bunch.wait_for_finished();
        assert_eq!(sem.available(), 1);
    }

    /// `test_with`: nested permits, released at the end of each scope, also
    /// when a panic unwinds through them.
    pub fn with<S: AnySemaphore>() {
        let sem = S::make(2);
        let with = |fail: bool| {
            let _outer = sem.acquire_blocking();
            drop(sem.try_acquire().expect("one left"));
            let _inner = sem.acquire_blocking();
            assert!(sem.try_acquire().is_none());
            assert!(!fail, "TypeError");
        };
        with(false);
        assert_eq!(sem.available(), 2);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with(true)));
        assert!(r.is_err());
        assert_eq!(sem.available(), 2);
    }
}

mod semaphore {
    use super::*;
    use warden::Semaphore;

    #[test]
    fn test_acquire() {
        base_semaphore::acquire::<Semaphore>();
    }
    #[test]
    fn test_acquire_destroy() {
        base_semaphore::acquire_destroy::<Semaphore>();
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_acquire_contended() {
        base_semaphore::acquire_contended::<Semaphore>().await;
    }
    #[test]
    fn test_try_acquire() {
        base_semaphore::try_acquire::<Semaphore>();
    }
    #[test]
    fn test_try_acquire_contended() {
        base_semaphore::try_acquire_contended::<Semaphore>();
    }
    #[tokio::test(start_paused = true)]
    async fn test_acquire_timeout() {
        base_semaphore::acquire_timeout::<Semaphore>().await;
    }
    #[test]
    fn test_default_value() {
        base_semaphore::default_value(Semaphore::default());
    }
    #[test]
    fn test_with() {
        base_semaphore::with::<Semaphore>();
    }

    /// `SemaphoreTests.test_release_unacquired`: unbounded releases are
    /// allowed and add permits.
    #[test]
    fn test_release_unacquired() {
        let sem = Semaphore::new(1);
        sem.release(1);
        sem.acquire_blocking().forget();
        sem.acquire_blocking().forget();
        sem.release(1);
        assert_eq!(sem.available_permits(), 1);
    }

    /// asyncio `test_initial_value_zero`: a semaphore of 0 is "locked".
    #[test]
    fn test_initial_value_zero() {
        let sem = Semaphore::new(0);
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.try_acquire().is_none());
    }

    /// asyncio `test_acquire`: with strict FIFO the two released permits go
    /// to exactly the two oldest waiters (c2, c3), not to the newer c4.
    #[tokio::test]
    async fn asyncio_test_acquire() {
        let sem = Arc::new(Semaphore::new(3));
        let result = Arc::new(Mutex::new(Vec::new()));
        sem.acquire().await.forget();
        sem.acquire().await.forget();
        assert_eq!(sem.available_permits(), 1);
        let c = |n: i32| {
            let (sem, result) = (sem.clone(), result.clone());
            tokio::spawn(async move {
                sem.acquire().await.forget();
                result.lock().unwrap().push(n);
            })
        };
        let (t1, t2, t3) = (c(1), c(2), c(3));
        until("c2, c3 waiting", || sem.__waiter_records() == 2).await;
        assert_eq!(*result.lock().unwrap(), [1]);
        assert_eq!(sem.available_permits(), 0);
        let t4 = c(4);
        until("c4 waiting", || sem.__waiter_records() == 3).await;
        sem.release(2);
        assert_eq!(sem.available_permits(), 0);
        within("t2", t2).await.unwrap();
        within("t3", t3).await.unwrap();
        t1.await.unwrap();
        assert_eq!(result.lock().unwrap().len(), 3);
        assert!(!t4.is_finished());
        assert_eq!(sem.__waiter_records(), 1);
        sem.release(1);
        within("t4", t4).await.unwrap();
    }

    /// asyncio `test_acquire_cancel`.
    #[tokio::test]
    async fn test_acquire_cancel() {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire().await.forget();
        let t = tokio::spawn({
            let sem = sem.clone();
            async move { drop(sem.acquire().await) }
        });
        until("queued", || sem.__waiter_records() == 1).await;
        t.abort();
        assert!(t.await.unwrap_err().is_cancelled());
        assert_eq!(sem.__waiter_records(), 0);
    }

    fn waiter(sem: &Arc<Semaphore>) -> tokio::task::JoinHandle<()> {
        let sem = sem.clone();
        tokio::spawn(async move { sem.acquire().await.forget() })
    }

    /// asyncio `test_acquire_cancel_before_awoken`: of four waiters, the
    /// first two cancelled, one release wakes exactly the third.
    #[tokio::test]
    async fn test_acquire_cancel_before_awoken() {
        let sem = Arc::new(Semaphore::new(0));
        let mut ts = Vec::new();
        for i in 1..=4 {
            ts.push(waiter(&sem));
            until("queued", || sem.__waiter_records() == i).await;
        }
        let (t4, t3) = (ts.pop().unwrap(), ts.pop().unwrap());
        for t in ts {
            t.abort();
            assert!(t.await.unwrap_err().is_cancelled());
        }
        sem.release(1);
        within("t3", t3).await.unwrap();
        assert!(!t4.is_finished());
        assert_eq!(sem.__waiter_records(), 1);
        t4.abort();
        assert!(t4.await.unwrap_err().is_cancelled());
        assert_eq!(sem.__waiter_records(), 0);
    }

    /// asyncio `test_acquire_hang`: cancelling the first waiter does not
    /// swallow the release meant for the second.
    #[tokio::test]
    async fn test_acquire_hang() {
        let sem = Arc::new(Semaphore::new(0));
        let t1 = waiter(&sem);
        let t2 = waiter(&sem);
        until("both queued", || sem.__waiter_records() == 2).await;
        t1.abort();
        sem.release(1);
        assert!(t1.await.unwrap_err().is_cancelled());
        within("t2", t2).await.unwrap();
        assert_eq!(sem.available_permits(), 0, "still locked");
    }

    /// asyncio `test_acquire_no_hang`: a waiter cancelled by the holder
    /// just after its release must not keep the permit.
    #[tokio::test]
    async fn test_acquire_no_hang() {
        let sem = Arc::new(Semaphore::new(1));
        let (tx, rx) = oneshot::channel::<tokio::task::AbortHandle>();
        let t1 = tokio::spawn({
            let sem = sem.clone();
            async move {
                let p = sem.acquire().await;
                let t2 = rx.await.unwrap();
                until("t2 queued", || sem.__waiter_records() == 1).await;
                drop(p); // hands the permit to t2 ...
                t2.abort(); // ... which is cancelled before it runs
            }
        });
        let t2 = tokio::spawn({
            let sem = sem.clone();
            async move {
                let _p = sem.acquire().await;
                panic!("t2 must have been cancelled");
            }
        });
        tx.send(t2.abort_handle()).unwrap();
        within("t1", t1).await.unwrap();
        assert!(t2.await.unwrap_err().is_cancelled());
        drop(
            timeout(Duration::from_secs(1), sem.acquire())
                .await
                .expect("the permit came back"),
        );
    }

    /// asyncio `test_acquire_fifo_order`: three tasks take turns, twice.
    #[tokio::test]
    async fn test_acquire_fifo_order() {
        let sem = Arc::new(Semaphore::new(1));
        let result = Arc::new(Mutex::new(Vec::new()));
        let go = Arc::new(warden::Event::new());
        let tasks: Vec<_> = ["c1", "c2", "c3"]
            .into_iter()
            .map(|tag| {
                let (sem, result, go) = (sem.clone(), result.clone(), go.clone());
                tokio::spawn(async move {
                    go.wait().await;
                    for round in 1..=2 {
                        let p = sem.acquire().await;
                        result.lock().unwrap().push(format!("{tag}_{round}"));
                        tokio::task::yield_now().await;
                        drop(p);
                    }
                })
            })
            .collect();
        // Queue all three in order before anyone releases.
        let first = sem.acquire().await;
        go.set();
        until("all three queued", || sem.__waiter_records() == 3).await;
        drop(first);
        for t in tasks {
            within("a task", t).await.unwrap();
        }
        assert_eq!(
            *result.lock().unwrap(),
            ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]
        );
    }

    /// asyncio `test_acquire_fifo_order_2`. Python's result is [1, 2, 3, 4]:
    /// its `release()` only wakes c3, so c2's re-acquire queues behind it.
    /// warden hands the permit to c3 inside `release()`: once both permits
    /// are released, c2 and c3 both hold one, and c2's own release and
    /// re-acquire need not wait for c3 — nobody is overtaken, since c3 is
    /// no longer waiting. All four acquisitions happen.
    #[tokio::test]
    async fn test_acquire_fifo_order_2() {
        let sem = Arc::new(Semaphore::new(1));
        let result = Arc::new(Mutex::new(Vec::new()));
        let push = {
            let result = result.clone();
            move |n: i32| result.lock().unwrap().push(n)
        };
        let t1 = tokio::spawn({
            let (sem, push) = (sem.clone(), push.clone());
            async move {
                sem.acquire().await.forget();
                push(1);
            }
        });
        t1.await.unwrap();
        let t2 = tokio::spawn({
            let (sem, push) = (sem.clone(), push.clone());
            async move {
                sem.acquire().await.forget();
                push(2);
                sem.release(1);
                sem.acquire().await.forget();
                push(4);
            }
        });
        until("c2 queued", || sem.__waiter_records() == 1).await;
        let t3 = tokio::spawn({
            let (sem, push) = (sem.clone(), push.clone());
            async move {
                sem.acquire().await.forget();
                push(3);
            }
        });
        until("c3 queued", || sem.__waiter_records() == 2).await;
        sem.release(1);
        sem.release(1);
        within("t2", t2).await.unwrap();
        within("t3", t3).await.unwrap();
        let mut r = result.lock().unwrap().clone();
        assert_eq!(r[..2], [1, 2]);
        r.sort_unstable();
        assert_eq!(r, [1, 2, 3, 4]);
        assert_eq!(sem.available_permits(), 0);
    }

    /// asyncio `test_acquire_fifo_order_3`: a cancelled first waiter is
    /// skipped; the next two are served in order.
    #[tokio::test]
    async fn test_acquire_fifo_order_3() {
        let sem = Arc::new(Semaphore::new(0));
        let result = Arc::new(Mutex::new(Vec::new()));
        let mut ts = Vec::new();
        for n in 1..=3 {
            let (sem2, result) = (sem.clone(), result.clone());
            ts.push(tokio::spawn(async move {
                sem2.acquire().await.forget();
                result.lock().unwrap().push(n);
            }));
            until("queued", || sem.__waiter_records() == n).await;
        }
        ts[0].abort();
        sem.release(2);
        for t in ts.drain(1..) {
            within("a waiter", t).await.unwrap();
        }
        assert_eq!(*result.lock().unwrap(), [2, 3]);
    }
}

mod bounded_semaphore {
    use super::*;
    use warden::{BoundedSemaphore, TooManyReleases};

    #[test]
    fn test_acquire() {
        base_semaphore::acquire::<BoundedSemaphore>();
    }
    #[test]
    fn test_acquire_destroy() {
        base_semaphore::acquire_destroy::<BoundedSemaphore>();
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_acquire_contended() {
        base_semaphore::acquire_contended::<BoundedSemaphore>().await;
    }
    #[test]
    fn test_try_acquire() {
        base_semaphore::try_acquire::<BoundedSemaphore>();
    }
    #[test]
    fn test_try_acquire_contended() {
        base_semaphore::try_acquire_contended::<BoundedSemaphore>();
    }
    #[tokio::test(start_paused = true)]
    async fn test_acquire_timeout() {
        base_semaphore::acquire_timeout::<BoundedSemaphore>().await;
    }
    #[test]
    fn test_default_value() {
        base_semaphore::default_value(BoundedSemaphore::new(1));
    }
    #[test]
    fn test_with() {
        base_semaphore::with::<BoundedSemaphore>();
    }

    /// `BoundedSemaphoreTests.test_release_unacquired` and asyncio
    /// `test_release_not_acquired`: cannot go past the initial value.
    #[test]
    fn test_release_unacquired() {
        let sem = BoundedSemaphore::new(1);
        assert_eq!(sem.release(1), Err(TooManyReleases));
        sem.acquire_blocking().forget();
        assert_eq!(sem.release(1), Ok(()));
        assert_eq!(sem.release(1), Err(TooManyReleases));
        assert_eq!(sem.available_permits(), 1);
    }
}

mod event {
    use super::*;
    use warden::Event;

    /// `EventTests.test_is_set`, asyncio `test_clear`.
    #[test]
    fn test_is_set() {
        let evt = Event::new();
        assert!(!evt.is_set());
        evt.set();
        assert!(evt.is_set());
        evt.set();
        assert!(evt.is_set());
        evt.clear();
        assert!(!evt.is_set());
        evt.clear();
        assert!(!evt.is_set());
    }

    /// `EventTests._check_notify`: every waiting thread is notified; each
    /// waits twice, the second wait returning at once.
    fn check_notify(evt: &Arc<Event>) {
        const N: usize = 5;
        let results = Arc::new(Mutex::new((0, 0)));
        let bunch = Bunch::new(N, {
            let (evt, results) = (evt.clone(), results.clone());
            move || {
                evt.wait_blocking();
                results.lock().unwrap().0 += 1;
                evt.wait_blocking();
                results.lock().unwrap().1 += 1;
            }
        });
        until_blocking("all threads waiting", || evt.__waiter_records() == N);
        assert_eq!(*results.lock().unwrap(), (0, 0));
        evt.set();
        bunch.wait_for_finished();
        assert_eq!(*results.lock().unwrap(), (N, N));
    }

    /// `EventTests.test_notify`.
    #[test]
    fn test_notify() {
        let evt = Arc::new(Event::new());
        check_notify(&evt);
        evt.set();
        evt.clear();
        check_notify(&evt);
    }

    /// `EventTests.test_timeout`: `wait(0.0)` and a short timed wait return
    /// false while unset, true once set.
    #[test]
    fn test_timeout() {
        let evt = Arc::new(Event::new());
        let run = |expect: bool| {
            let results = Arc::new(Mutex::new(Vec::new()));
            Bunch::new(5, {
                let (evt, results) = (evt.clone(), results.clone());
                move || {
                    let r1 = evt.wait_timeout_blocking(Duration::ZERO);
                    let r2 = evt.wait_timeout_blocking(Duration::from_millis(20));
                    results.lock().unwrap().push((r1, r2));
                }
            })
            .wait_for_finished();
            assert_eq!(*results.lock().unwrap(), [(expect, expect); 5]);
        };
        run(false);
        evt.set();
        run(true);
        assert_eq!(evt.__waiter_records(), 0);
    }

    /// `EventTests.test_set_and_clear` (issue #13502): `wait()` returns
    /// true even when the event is cleared before the waiter runs.
    #[test]
    fn test_set_and_clear() {
        const N: usize = 5;
        let evt = Arc::new(Event::new());
        let results = Arc::new(Mutex::new(Vec::new()));
        let bunch = Bunch::new(N, {
            let (evt, results) = (evt.clone(), results.clone());
            move || {
                let r = evt.wait_timeout_blocking(support::HANG);
                results.lock().unwrap().push(r);
            }
        });
        until_blocking("all threads waiting", || evt.__waiter_records() == N);
        evt.set();
        evt.clear();
        bunch.wait_for_finished();
        assert_eq!(*results.lock().unwrap(), [true; N]);
    }

    /// asyncio `test_wait`: tasks waiting before and after the first
    /// check are all released by one `set`.
    #[tokio::test]
    async fn test_wait() {
        let ev = Arc::new(Event::new());
        let result = Arc::new(Mutex::new(Vec::new()));
        let c = |n: i32| {
            let (ev, result) = (ev.clone(), result.clone());
            tokio::spawn(async move {
                ev.wait().await;
                result.lock().unwrap().push(n);
            })
        };
        let (t1, t2) = (c(1), c(2));
        until("two waiting", || ev.__waiter_records() == 2).await;
        assert!(result.lock().unwrap().is_empty());
        let t3 = c(3);
        ev.set();
        for t in [t1, t2, t3] {
            within("a waiter", t).await.unwrap();
        }
        let mut r = result.lock().unwrap().clone();
        r.sort_unstable();
        assert_eq!(r, [1, 2, 3]);
    }

    /// asyncio `test_wait_on_set`.
    #[tokio::test]
    async fn test_wait_on_set() {
        let ev = Event::new();
        ev.set();
        ev.wait().await;
    }

    /// asyncio `test_wait_cancel`.
    #[tokio::test]
    async fn test_wait_cancel() {
        let ev = Arc::new(Event::new());
        let t = tokio::spawn({
            let ev = ev.clone();
            async move { ev.wait().await }
        });
        until("waiting", || ev.__waiter_records() == 1).await;
        t.abort();
        assert!(t.await.unwrap_err().is_cancelled());
        assert_eq!(ev.__waiter_records(), 0);
    }

    /// asyncio `test_clear_with_waiters`.
    #[tokio::test]
    async fn test_clear_with_waiters() {
        let ev = Arc::new(Event::new());
        let t = tokio::spawn({
            let ev = ev.clone();
            async move { ev.wait().await }
        });
        until("waiting", || ev.__waiter_records() == 1).await;
        ev.set();
        ev.clear();
        assert!(!ev.is_set());
        ev.set();
        ev.set();
        assert_eq!(ev.__waiter_records(), 1, "released, not yet run");
        within("the waiter", t).await.unwrap();
        assert_eq!(ev.__waiter_records(), 0);
    }
}
