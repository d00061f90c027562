//! Run-time behaviour of `#[guarded]` structs: what the macro generates is
//! exactly the hand-written `Lock<Inner>` form, and behaves like it. (What
//! must and must not compile is pinned in `tests/tests/ui.rs`.)

use std::collections::BTreeMap;
use std::mem::{align_of, size_of};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use warden::{Condition, Lock, LockGuard, RLock, guarded};

/// The bank of DESIGN.md.
#[guarded]
#[derive(Debug, Default)]
pub struct Bank {
    /// Guards the money.
    pub lock: Lock,
    /// Balances.
    #[guarded(lock)]
    pub accounts: Vec<i64>,
    /// Transfers so far.
    #[guarded(lock)]
    transfers: u64,
    /// Notified after each transfer.
    pub changed: Condition,
    /// Guards the log.
    pub audit: RLock,
    /// Log lines.
    #[guarded(audit)]
    pub log: std::sync::Mutex<Vec<String>>,
    /// Unguarded.
    pub name: String,
}

/// What `#[guarded]` replaces: the same bank, written by hand.
pub struct HandBank {
    /// `lock: Lock<HandLock>`.
    pub lock: Lock<HandLock>,
    /// Unchanged.
    pub changed: Condition,
    /// `audit: RLock<HandAudit>`.
    pub audit: RLock<HandAudit>,
    /// Unchanged.
    pub name: String,
}

/// The data of `HandBank::lock`.
pub struct HandLock {
    /// Balances.
    pub accounts: Vec<i64>,
    /// Transfers so far.
    pub transfers: u64,
}

/// The data of `HandBank::audit`.
pub struct HandAudit {
    /// Log lines.
    pub log: std::sync::Mutex<Vec<String>>,
}

/// A generic one.
#[guarded]
pub struct Cache<K: Ord, V> {
    /// Guards the map.
    pub lock: Lock,
    /// The map.
    #[guarded(lock)]
    pub map: BTreeMap<K, V>,
    /// Hits.
    #[guarded(lock)]
    pub hits: u64,
}

/// Hand-written `Cache`.
pub struct HandCache<K, V> {
    /// `Lock<(map, hits)>`.
    pub lock: Lock<(BTreeMap<K, V>, u64)>,
}

fn bank(accounts: Vec<i64>) -> Bank {
    Bank::new(BankInit {
        lock: Lock::new(()),
        accounts,
        transfers: 0,
        changed: Condition::new(),
        audit: RLock::new(()),
        log: std::sync::Mutex::default(),
        name: "test".to_owned(),
    })
}

#[test]
fn same_size_as_hand_written() {
    assert_eq!(size_of::<Bank>(), size_of::<HandBank>());
    assert_eq!(align_of::<Bank>(), align_of::<HandBank>());
    assert_eq!(size_of::<BankLock>(), size_of::<HandLock>());
    assert_eq!(size_of::<BankAudit>(), size_of::<HandAudit>());
    assert_eq!(size_of::<Lock<BankLock>>(), size_of::<Lock<HandLock>>());
    assert_eq!(
        size_of::<Cache<String, u32>>(),
        size_of::<HandCache<String, u32>>()
    );
}

#[test]
fn lock_fields_are_plain_locks_of_the_data() {
    let b = bank(vec![]);
    let _: &Lock<BankLock> = &b.lock;
    let _: &RLock<BankAudit> = &b.audit;
    let _: LockGuard<'_, BankLock> = b.lock.try_acquire().unwrap();
}

#[test]
fn generated_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Bank>();
    send_sync::<BankLock>();
    send_sync::<BankAudit>();
    send_sync::<BankInit>();
    send_sync::<Cache<String, u32>>();
}

#[test]
fn new_and_from_move_each_field_to_its_place() {
    let b = Bank::from(BankInit {
        lock: Lock::default(),
        accounts: vec![1, 2, 3],
        transfers: 7,
        changed: Condition::default(),
        audit: RLock::default(),
        log: std::sync::Mutex::new(vec!["x".to_owned()]),
        name: "n".to_owned(),
    });
    assert_eq!(b.name, "n");
    let audit = b.audit.into_inner();
    assert_eq!(*audit.log.lock().unwrap(), ["x"]);
    let data = b.lock.into_inner();
    assert_eq!((data.accounts, data.transfers), (vec![1, 2, 3], 7));
}

#[test]
fn get_mut_reaches_guarded_fields_without_locking() {
    let mut b = bank(vec![5]);
    b.lock.get_mut().transfers = 3;
    b.lock.get_mut().accounts.push(6);
    b.audit
        .get_mut()
        .log
        .get_mut()
        .unwrap()
        .push("y".to_owned());
    assert_eq!(b.lock.get_mut().transfers, 3);
    assert_eq!(b.lock.get_mut().accounts, [5, 6]);
}

#[test]
fn debug_and_default_are_forwarded_and_debug_never_blocks() {
    let b = Bank::default();
    assert_eq!(
        format!("{b:?}"),
        format!(
            "Bank {{ lock: Lock {{ data: BankLock {{ accounts: [], transfers: 0 }}, .. }}, \
             changed: {:?}, audit: RLock {{ data: BankAudit {{ log: Mutex {{ data: [], \
             poisoned: false, .. }} }}, .. }}, name: \"\" }}",
            b.changed
        )
    );
    let held = b.lock.try_acquire().unwrap();
    assert!(format!("{b:?}").contains("lock: Lock { data: <locked>, .. }"));
    drop(held);
    let init = BankInit::default();
    assert_eq!(init.transfers, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfers_conserve_money_across_threads() {
    let b = Arc::new(bank(vec![1_000; 8]));
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let b = b.clone();
            tokio::spawn(async move {
                for i in 0..200 {
                    let mut g = b.lock.acquire().await;
                    let (from, to) = ((t + i) % 8, (t + 3 * i + 1) % 8);
                    g.accounts[from] -= 1;
                    tokio::task::yield_now().await; // guard held across .await
                    g.accounts[to] += 1;
                    g.transfers += 1;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let g = b.lock.acquire().await;
    assert_eq!(g.accounts.iter().sum::<i64>(), 8_000);
    assert_eq!(g.transfers, 16 * 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_waits_with_the_guard_of_a_guarded_lock() {
    let b = Arc::new(bank(vec![0]));
    let waiter = tokio::spawn({
        let b = b.clone();
        async move {
            let g = b.lock.acquire().await;
            let g = b.changed.wait_for(g, |data| data.transfers >= 3).await;
            g.transfers
        }
    });
    for _ in 0..3 {
        b.lock.acquire().await.transfers += 1;
        b.changed.notify_all();
    }
    assert!(waiter.await.unwrap() >= 3);
}

#[tokio::test]
async fn rlock_guarded_fields_are_shared_and_reentrant() {
    #[guarded]
    struct Registry {
        lock: RLock,
        #[guarded(lock)]
        reads: AtomicU64,
    }
    let r = Registry::new(RegistryInit {
        lock: RLock::new(()),
        reads: AtomicU64::new(0),
    });
    let outer = r.lock.acquire().await;
    outer.reads.fetch_add(1, Ordering::Relaxed);
    let inner = r.lock.acquire().await; // same task: no deadlock
    inner.reads.fetch_add(1, Ordering::Relaxed);
    drop(inner);
    assert_eq!(outer.reads.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn cache_with_generics() {
    let c: Cache<&str, u32> = Cache::new(CacheInit {
        lock: Lock::new(()),
        map: BTreeMap::new(),
        hits: 0,
    });
    c.lock.acquire().await.map.insert("a", 1);
    let mut g = c.lock.acquire().await;
    if g.map.contains_key("a") {
        g.hits += 1;
    }
    assert_eq!(g.hits, 1);
}
