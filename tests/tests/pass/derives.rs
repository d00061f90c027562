//! `#[derive(Debug, Default)]` on the struct also derives them for the
//! generated structs; `Debug` never blocks (it prints `<locked>`).

use warden::{Lock, RLock, guarded};

#[guarded]
#[derive(Debug, Default)]
pub struct Account {
    lock: Lock,
    #[guarded(lock)]
    balance: i64,
    audit: RLock,
    #[guarded(audit)]
    note: String,
    owner: String,
}

#[guarded]
#[derive(std::fmt::Debug, core::default::Default)]
pub struct Generic<T> {
    lock: Lock,
    #[guarded(lock)]
    value: T,
}

fn main() {
    let account = Account::default();
    assert_eq!(
        format!("{account:?}"),
        "Account { lock: Lock { data: AccountLock { balance: 0 }, .. }, \
         audit: RLock { data: AccountAudit { note: \"\" }, .. }, owner: \"\" }"
    );
    let init = AccountInit::default();
    assert_eq!(
        format!("{init:?}"),
        "AccountInit { lock: Lock { data: (), .. }, balance: 0, \
         audit: RLock { data: (), .. }, note: \"\", owner: \"\" }"
    );
    let guard = account.lock.try_acquire().unwrap();
    assert!(format!("{account:?}").contains("<locked>"));
    drop(guard);

    let g: Generic<Vec<u8>> = Generic::default();
    assert_eq!(
        format!("{g:?}"),
        "Generic { lock: Lock { data: GenericLock { value: [] }, .. } }"
    );
    let _ = GenericLock::<u8>::default();
}
