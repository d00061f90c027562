//! `#[guarded(order = [...])]` records the order in which the struct's
//! locks must be taken: each ordered lock's data struct carries its rank
//! (`Lock<BankLock>` knows it through `BankLock`), and the struct lists
//! them all — what a run-time lock-order checker reads. Nothing is checked
//! at compile time (see the `#[guarded]` chapter: that would take a token
//! threaded through every call).

use warden::__private::{LockOrder, LockRank, Ranked};
use warden::{Lock, RLock, guarded};

#[guarded(order = [lock, audit])]
pub struct Bank {
    audit: RLock,
    #[guarded(audit)]
    log: Vec<String>,
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
    spare: Lock, // guards nothing: not a lock of `#[guarded]`, not ordered
}

#[guarded(order = [inner, outer])]
pub struct Nested<T> {
    outer: Lock,
    #[guarded(outer)]
    a: T,
    inner: Lock,
    #[guarded(inner)]
    b: u8,
}

const fn rank_of<T: Ranked>() -> LockRank {
    T::RANK
}

fn main() {
    assert_eq!(
        Bank::ORDER,
        [
            LockRank { owner: "Bank", lock: "lock", rank: 0 },
            LockRank { owner: "Bank", lock: "audit", rank: 1 },
        ]
    );
    assert_eq!(rank_of::<BankLock>().rank, 0);
    assert_eq!(rank_of::<BankAudit>().lock, "audit");
    assert_eq!(<Nested<String> as LockOrder>::ORDER[0].lock, "inner");
    assert_eq!(rank_of::<NestedOuter<String>>().rank, 1);

    // Taking them in the declared order, as the checker will require.
    let bank = Bank::new(BankInit {
        audit: RLock::new(()),
        log: vec![],
        lock: Lock::new(()),
        accounts: vec![1],
        spare: Lock::new(()),
    });
    let money = bank.lock.try_acquire().unwrap();
    let audit = bank.audit.try_acquire().unwrap();
    assert_eq!((money.accounts.len(), audit.log.len()), (1, 0));
    let (): () = bank.spare.into_inner();
}
