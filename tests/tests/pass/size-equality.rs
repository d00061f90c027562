//! Zero cost: a `#[guarded]` struct is exactly the hand-written
//! `Lock<Inner>` one — same size, same alignment, same types — and a
//! `#[condition(lock)]` is exactly a `Condition`.

use std::mem::{align_of, size_of};
use warden::{Condition, Lock, RLock, guarded};

#[guarded]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
    #[guarded(lock)]
    transfers: u64,
    changed: Condition,
    #[condition(lock)]
    bound: Condition,
    audit: RLock,
    #[guarded(audit)]
    log: Vec<String>,
    name: String,
}

pub struct HandLock {
    pub accounts: Vec<i64>,
    pub transfers: u64,
}

pub struct HandAudit {
    pub log: Vec<String>,
}

pub struct HandBank {
    pub lock: Lock<HandLock>,
    pub changed: Condition,
    pub bound: Condition,
    pub audit: RLock<HandAudit>,
    pub name: String,
}

fn main() {
    assert_eq!(size_of::<Bank>(), size_of::<HandBank>());
    assert_eq!(align_of::<Bank>(), align_of::<HandBank>());
    assert_eq!(size_of::<BankLock>(), size_of::<HandLock>());
    assert_eq!(size_of::<BankAudit>(), size_of::<HandAudit>());
    // The lock field's type is literally `Lock<BankLock>`.
    let bank = Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![],
        transfers: 0,
        changed: Condition::new(),
        bound: Condition::new(),
        audit: RLock::new(()),
        log: vec![],
        name: String::new(),
    });
    let _: &Lock<BankLock> = &bank.lock;
    let _: &RLock<BankAudit> = &bank.audit;
    let _: (&Condition, &String) = (&bank.changed, &bank.name);
    let _: &warden::BoundCondition<BankLock> = &bank.bound;
}
