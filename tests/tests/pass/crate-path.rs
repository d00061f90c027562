//! `#[guarded(crate = path)]`: the expansion names warden through `path`,
//! for a facade that re-exports it (here a module; a facade crate works
//! the same). Renamed dependencies are found in the manifest without it:
//! see `tests/crate_path.rs`.

mod facade {
    pub use ::warden as sync;
}

use facade::sync::{Condition, Lock, guarded};

#[guarded(crate = crate::facade::sync)]
#[derive(Debug, Default)]
pub struct Bank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
    #[condition(lock)]
    changed: Condition,
}

fn main() {
    let bank = Bank::new(BankInit {
        lock: Lock::new(()),
        accounts: vec![5],
        changed: Condition::new(),
    });
    bank.changed.notify_all();
    assert_eq!(bank.lock.into_inner().accounts, [5]);
    assert!(format!("{:?}", Bank::default()).starts_with("Bank { lock: Lock"));
}
