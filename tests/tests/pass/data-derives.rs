//! `#[guarded(data(...))]`: derives and attributes for the generated data
//! structs only (the struct holds locks, which are not `Clone` or
//! `Serialize`). A guard then gives a snapshot (`(*guard).clone()`), a
//! comparison, and JSON (`serde_json::to_string(&*guard)`), as with a
//! hand-written `Lock<Inner>` whose `Inner` derives them.

use warden::{Lock, RLock, guarded};

#[guarded(data(derive(Clone, PartialEq, Debug, serde::Serialize), serde(rename_all = "camelCase")))]
pub struct Account {
    lock: Lock,
    #[guarded(lock)]
    balance_cents: i64,
    #[guarded(lock)]
    #[serde(skip)]
    pending: Vec<i64>,
    audit: RLock,
    #[guarded(audit)]
    last_auditor: String,
    owner: String,
}

// Generic data structs get the derives with the usual bounds.
#[guarded(data(derive(Clone, PartialEq, Debug)))]
pub struct Cell<T> {
    lock: Lock,
    #[guarded(lock)]
    value: T,
}

fn main() {
    let account = Account::new(AccountInit {
        lock: Lock::new(()),
        balance_cents: 1_050,
        pending: vec![25],
        audit: RLock::new(()),
        last_auditor: "ada".to_owned(),
        owner: "bob".to_owned(),
    });
    let mut guard = account.lock.try_acquire().unwrap();
    let before: AccountLock = (*guard).clone(); // a snapshot of the data
    guard.balance_cents -= 50;
    assert_ne!(*guard, before);
    assert_eq!(
        serde_json::to_string(&*guard).unwrap(),
        r#"{"balanceCents":1000}"#
    );
    drop(guard);
    let audit = account.audit.try_acquire().unwrap();
    assert_eq!(
        serde_json::to_string(&*audit).unwrap(),
        r#"{"lastAuditor":"ada"}"#
    );
    assert_eq!(account.owner, "bob");

    let cell = Cell::new(CellInit {
        lock: Lock::new(()),
        value: vec![1, 2],
    });
    let copy = cell.lock.try_acquire().unwrap().clone();
    assert_eq!(copy, CellLock { value: vec![1, 2] });
    assert_eq!(format!("{copy:?}"), "CellLock { value: [1, 2] }");
}
