//! The auto-trait matrix: `Send` / `Sync` / `Unpin` of every type, guard
//! and future, for data that is Send + Sync (`YY`), Send only (`YN`),
//! neither (`NN`), or Sync only (`NY`). Positive cases are plain bounds;
//! negative ones use the ambiguity trick: `AmbiguousIfSend` has two blanket
//! impls when the type is `Send`, so calling it on a `Send` type does not
//! compile. Either way, a wrong entry is a compile error of this file.
//!
//! Plus: tasks holding guards across `.await` can be spawned on a
//! multi-thread runtime, and the primitives are at most two words.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use warden::futures::{
    BarrierWait, ConditionWait, ConditionWaitFor, EventWait, LockAcquire, LockAcquireOwned,
    RwLockRead, RwLockReadOwned, RwLockWrite, RwLockWriteOwned, SemaphoreAcquire,
    SemaphoreAcquireOwned,
};
#[cfg(feature = "tokio")]
use warden::futures::{BarrierWaitTimeout, ConditionWaitForTimeout, ConditionWaitTimeout};
use warden::{
    BoundedSemaphore, BrokenBarrierError, Event, Lock, LockGuard, OwnedLockGuard,
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock, RwLockReadGuard,
    RwLockWriteGuard, Semaphore, SemaphorePermit, TooManyReleases,
};

/// Send + Sync.
type YY = u32;
/// Send, not Sync.
type YN = Cell<u32>;
/// Neither Send nor Sync.
type NN = Rc<u32>;
/// Sync, not Send.
type NY = std::sync::MutexGuard<'static, u32>;

fn require_send<T: ?Sized + Send>(_: &T) {}
fn require_sync<T: ?Sized + Sync>(_: &T) {}
fn require_unpin<T: ?Sized + Unpin>(_: &T) {}

/// Two impls apply when `T: Send`, so `some_item` is ambiguous (an error).
trait AmbiguousIfSend<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

trait AmbiguousIfSync<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

#[cfg(feature = "tokio")] // only the timeout futures are !Unpin
trait AmbiguousIfUnpin<A> {
    fn some_item(&self) {}
}
#[cfg(feature = "tokio")]
impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
#[cfg(feature = "tokio")]
impl<T: ?Sized + Unpin> AmbiguousIfUnpin<u8> for T {}

/// A value of any type, for checks that are compiled and never run.
fn fake<T>() -> T {
    unreachable!("auto-trait checks are never run")
}

/// `traits!(value, Send & !Sync & Unpin)`: asserts each of the three.
macro_rules! traits {
    (@sync $v:ident, Sync & $($rest:tt)*) => {
        require_sync(&$v);
        traits!(@unpin $v, $($rest)*);
    };
    (@sync $v:ident, !Sync & $($rest:tt)*) => {
        AmbiguousIfSync::some_item(&$v);
        traits!(@unpin $v, $($rest)*);
    };
    (@unpin $v:ident, Unpin) => {
        require_unpin(&$v);
    };
    (@unpin $v:ident, !Unpin) => {
        AmbiguousIfUnpin::some_item(&$v);
    };
    ($v:ident, Send & $($rest:tt)*) => {
        require_send(&$v);
        traits!(@sync $v, $($rest)*);
    };
    ($v:ident, !Send & $($rest:tt)*) => {
        AmbiguousIfSend::some_item(&$v);
        traits!(@sync $v, $($rest)*);
    };
}

/// `assert_type!(T: Send & Sync & Unpin)`.
macro_rules! assert_type {
    ($t:ty: $($traits:tt)*) => {
        const _: fn() = || {
            let value: $t = fake();
            traits!(value, $($traits)*);
        };
    };
}

/// `assert_future!(|s: &Source| s.method(): Send & Sync & Unpin)`: the
/// future a method returns, given a source borrowed for the check.
macro_rules! assert_future {
    (|$s:ident: $src:ty| $call:expr => $($traits:tt)*) => {
        const _: fn() = || {
            let owner: $src = fake();
            let $s = owner;
            #[allow(clippy::redundant_locals)]
            let fut = $call;
            traits!(fut, $($traits)*);
        };
    };
}

// --- Lock<T>: like std::sync::Mutex, Send and Sync whenever T: Send -------
assert_type!(Lock<YY>: Send & Sync & Unpin);
assert_type!(Lock<YN>: Send & Sync & Unpin);
assert_type!(Lock<NN>: !Send & !Sync & Unpin);
assert_type!(Lock<NY>: !Send & !Sync & Unpin);
assert_type!(Lock: Send & Sync & Unpin);

// --- Guards: Send when T: Send (hold across .await in a spawned task);
//     Sync only when T: Sync too (a shared guard hands out &T) -------------
assert_type!(LockGuard<'static, YY>: Send & Sync & Unpin);
assert_type!(LockGuard<'static, YN>: Send & !Sync & Unpin);
assert_type!(LockGuard<'static, NN>: !Send & !Sync & Unpin);
assert_type!(LockGuard<'static, NY>: !Send & !Sync & Unpin);
assert_type!(OwnedLockGuard<YY>: Send & Sync & Unpin);
assert_type!(OwnedLockGuard<YN>: Send & !Sync & Unpin);
assert_type!(OwnedLockGuard<NN>: !Send & !Sync & Unpin);
assert_type!(OwnedLockGuard<NY>: !Send & !Sync & Unpin);

// --- Lock futures --------------------------------------------------------
assert_type!(LockAcquire<'static, YY>: Send & Sync & Unpin);
assert_type!(LockAcquire<'static, YN>: Send & Sync & Unpin);
assert_type!(LockAcquire<'static, NN>: !Send & !Sync & Unpin);
assert_type!(LockAcquireOwned<YY>: Send & Sync & Unpin);
assert_type!(LockAcquireOwned<YN>: Send & Sync & Unpin);
assert_type!(LockAcquireOwned<NN>: !Send & !Sync & Unpin);
assert_future!(|l: Arc<Lock<YY>>| l.acquire_owned() => Send & Sync & Unpin);
assert_future!(|l: Arc<Lock<YN>>| l.acquire_owned() => Send & Sync & Unpin);
assert_future!(|l: Arc<Lock<NN>>| l.acquire_owned() => !Send & !Sync & Unpin);

// --- RwLock<T>: like std::sync::RwLock, Send when T: Send, Sync when
//     T: Send + Sync (readers on several threads share &T) ----------------
assert_type!(RwLock<YY>: Send & Sync & Unpin);
assert_type!(RwLock<YN>: Send & !Sync & Unpin);
assert_type!(RwLock<NN>: !Send & !Sync & Unpin);
assert_type!(RwLock<NY>: !Send & !Sync & Unpin);
assert_type!(RwLock: Send & Sync & Unpin);

// --- RwLock guards and futures: they hold `&RwLock<T>` (or an `Arc` of it),
//     so they cross threads exactly when the lock may be shared ----------
assert_type!(RwLockReadGuard<'static, YY>: Send & Sync & Unpin);
assert_type!(RwLockReadGuard<'static, YN>: !Send & !Sync & Unpin);
assert_type!(RwLockReadGuard<'static, NN>: !Send & !Sync & Unpin);
assert_type!(RwLockReadGuard<'static, NY>: !Send & !Sync & Unpin);
assert_type!(RwLockWriteGuard<'static, YY>: Send & Sync & Unpin);
assert_type!(RwLockWriteGuard<'static, YN>: !Send & !Sync & Unpin);
assert_type!(RwLockWriteGuard<'static, NN>: !Send & !Sync & Unpin);
assert_type!(RwLockWriteGuard<'static, NY>: !Send & !Sync & Unpin);
assert_type!(OwnedRwLockReadGuard<YY>: Send & Sync & Unpin);
assert_type!(OwnedRwLockReadGuard<YN>: !Send & !Sync & Unpin);
assert_type!(OwnedRwLockReadGuard<NN>: !Send & !Sync & Unpin);
assert_type!(OwnedRwLockWriteGuard<YY>: Send & Sync & Unpin);
assert_type!(OwnedRwLockWriteGuard<YN>: !Send & !Sync & Unpin);
assert_type!(OwnedRwLockWriteGuard<NN>: !Send & !Sync & Unpin);
assert_type!(RwLockRead<'static, YY>: Send & Sync & Unpin);
assert_type!(RwLockRead<'static, YN>: !Send & !Sync & Unpin);
assert_type!(RwLockWrite<'static, YY>: Send & Sync & Unpin);
assert_type!(RwLockWrite<'static, YN>: !Send & !Sync & Unpin);
assert_type!(RwLockReadOwned<YY>: Send & Sync & Unpin);
assert_type!(RwLockReadOwned<NN>: !Send & !Sync & Unpin);
assert_type!(RwLockWriteOwned<YY>: Send & Sync & Unpin);
assert_type!(RwLockWriteOwned<NN>: !Send & !Sync & Unpin);
assert_future!(|l: Arc<RwLock<YY>>| l.read_owned() => Send & Sync & Unpin);
assert_future!(|l: Arc<RwLock<YY>>| l.write_owned() => Send & Sync & Unpin);
assert_future!(|l: Arc<RwLock<YN>>| l.write_owned() => !Send & !Sync & Unpin);

// --- Semaphores, permits and their futures --------------------------------
assert_type!(Semaphore: Send & Sync & Unpin);
assert_type!(BoundedSemaphore: Send & Sync & Unpin);
assert_type!(SemaphorePermit<'static>: Send & Sync & Unpin);
assert_type!(OwnedSemaphorePermit: Send & Sync & Unpin);
assert_type!(SemaphoreAcquire<'static>: Send & Sync & Unpin);
assert_type!(SemaphoreAcquireOwned: Send & Sync & Unpin);
assert_future!(|s: Arc<Semaphore>| s.acquire_owned() => Send & Sync & Unpin);
assert_future!(|s: Arc<Semaphore>| s.acquire_many_owned(2) => Send & Sync & Unpin);
assert_future!(|s: Arc<BoundedSemaphore>| s.acquire_owned() => Send & Sync & Unpin);
assert_future!(|s: Arc<BoundedSemaphore>| s.acquire_many_owned(2) => Send & Sync & Unpin);

// --- Event ----------------------------------------------------------------
assert_type!(Event: Send & Sync & Unpin);
assert_type!(EventWait<'static>: Send & Sync & Unpin);

// --- Condition and Barrier futures -----------------------------------------
// Send and Sync as the guard they carry (and the predicate); `Unpin` except
// the timeout futures, which hold tokio's `Sleep`.
assert_type!(ConditionWait<'static, LockGuard<'static, YY>>: Send & Sync & Unpin);
assert_type!(ConditionWait<'static, LockGuard<'static, YN>>: Send & Sync & Unpin);
assert_type!(ConditionWait<'static, OwnedLockGuard<YY>>: Send & Sync & Unpin);
assert_type!(ConditionWait<'static, OwnedLockGuard<NN>>: !Send & !Sync & Unpin);
assert_type!(ConditionWaitFor<'static, LockGuard<'static, YY>, fn(&mut YY) -> bool>: Send & Sync & Unpin);
assert_type!(BarrierWait<'static>: Send & Sync & Unpin);
#[cfg(feature = "tokio")]
assert_type!(ConditionWaitTimeout<'static, LockGuard<'static, YY>>: Send & Sync & !Unpin);
#[cfg(feature = "tokio")]
assert_type!(ConditionWaitForTimeout<'static, LockGuard<'static, YY>, fn(&mut YY) -> bool>: Send & Sync & !Unpin);
#[cfg(feature = "tokio")]
assert_type!(BarrierWaitTimeout<'static>: Send & Sync & !Unpin);

// --- Errors ---------------------------------------------------------------
assert_type!(TooManyReleases: Send & Sync & Unpin);
assert_type!(BrokenBarrierError: Send & Sync & Unpin);

/// The borrowed futures, checked on real borrows (not `'static` ones).
#[test]
fn borrowed_futures_are_send_and_sync() {
    let lock = Lock::new(Cell::new(1));
    let f = lock.acquire();
    require_send(&f);
    require_sync(&f);
    require_unpin(&f);
    drop(f);
    let sem = Semaphore::new(1);
    let f = sem.acquire_many(1);
    require_send(&f);
    require_sync(&f);
    drop(f);
    let bounded = BoundedSemaphore::new(1);
    require_send(&bounded.acquire());
    let ev = Event::new();
    require_send(&ev.wait());
    require_sync(&ev.wait());
    let rw = RwLock::new(vec![1]);
    let f = rw.read();
    require_send(&f);
    require_sync(&f);
    require_unpin(&f);
    drop(f);
    require_send(&rw.write());
    require_sync(&rw.write());
}

/// A future that holds each guard across an `.await` is `Send`.
fn require_send_future<F: std::future::Future + Send>(f: F) -> F {
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_holding_guards_across_await_spawn_on_a_multi_thread_runtime() {
    let lock = Arc::new(Lock::new(Cell::new(0))); // Send data, not Sync
    let sem = Arc::new(Semaphore::new(2));
    let bounded = Arc::new(BoundedSemaphore::new(1));
    let ev = Arc::new(Event::new());
    let rw = Arc::new(RwLock::new(vec![0_u32])); // Send + Sync data

    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (lock, sem, bounded, ev) = (lock.clone(), sem.clone(), bounded.clone(), ev.clone());
            let rw = rw.clone();
            tokio::spawn(require_send_future(async move {
                ev.wait().await;
                let read = rw.read().await;
                tokio::task::yield_now().await; // a read guard held here
                let first = read[0];
                drop(read);
                let mut write = rw.write().await;
                tokio::task::yield_now().await; // a write guard held here
                write.push(first);
                drop(write);
                let owned_read = rw.clone().read_owned().await;
                tokio::task::yield_now().await;
                drop(owned_read);
                let mut owned_write = rw.clone().write_owned().await;
                tokio::task::yield_now().await;
                owned_write[0] += 1;
                drop(owned_write);
                let permit = sem.acquire().await;
                let bounded_permit = bounded.acquire().await;
                let guard = lock.acquire().await;
                tokio::task::yield_now().await; // every guard held here
                guard.set(guard.get() + 1);
                tokio::time::sleep(Duration::from_millis(1)).await;
                drop((guard, bounded_permit, permit));
                let owned = lock.clone().acquire_owned().await;
                tokio::task::yield_now().await;
                owned.set(owned.get() + 1);
                drop(owned);
                let owned_permit = sem.clone().acquire_many_owned(2).await;
                tokio::task::yield_now().await;
                drop(owned_permit);
            }))
        })
        .collect();
    ev.set();
    for t in tasks {
        support::within("a task holding guards", t).await.unwrap();
    }
    assert_eq!(lock.acquire().await.get(), 8);
    assert_eq!(rw.read().await.len(), 5);
}

/// The default build's sizes (with the `tracing` feature every primitive
/// carries its name and number, and every wait its call site).
#[cfg(not(feature = "tracing"))]
#[test]
fn primitives_are_at_most_two_words() {
    use std::mem::size_of;
    assert!(size_of::<Lock<()>>() <= 16, "{}", size_of::<Lock<()>>());
    assert!(size_of::<Semaphore>() <= 16, "{}", size_of::<Semaphore>());
    assert!(size_of::<Event>() <= 16, "{}", size_of::<Event>());
    assert!(size_of::<RwLock<()>>() <= 16, "{}", size_of::<RwLock<()>>());
    // The data adds only itself (plus alignment).
    assert!(size_of::<Lock<u64>>() <= 24);
    // The named futures are small: a reference and a waiter key.
    assert!(size_of::<LockAcquire<'_, ()>>() <= 3 * size_of::<usize>());
    assert!(size_of::<EventWait<'_>>() <= 3 * size_of::<usize>());
    assert!(size_of::<RwLockRead<'_, ()>>() <= 2 * size_of::<usize>());
    assert!(size_of::<RwLockWrite<'_, ()>>() <= 2 * size_of::<usize>());
    assert!(size_of::<RwLockReadOwned<()>>() <= 2 * size_of::<usize>());
}
