//! Visibility across modules: each moved field keeps its own, and the
//! generated structs and `new` take the struct's.

mod bank {
    use warden::{Lock, guarded};

    #[guarded]
    pub struct Bank {
        pub lock: Lock,
        #[guarded(lock)]
        pub accounts: Vec<i64>,
        #[guarded(lock)]
        pub(crate) transfers: u64,
        #[guarded(lock)]
        secret: u32,
        pub name: &'static str,
    }

    impl Bank {
        pub fn open(name: &'static str) -> Bank {
            Bank::new(BankInit {
                lock: Lock::new(()),
                accounts: vec![100, 100],
                transfers: 0,
                secret: 42,
                name,
            })
        }

        pub async fn secret(&self) -> u32 {
            self.lock.acquire().await.secret
        }
    }

    pub(crate) mod inner {
        use warden::{Lock, guarded};

        #[guarded]
        pub(crate) struct Ledger {
            pub(crate) lock: Lock,
            #[guarded(lock)]
            pub(crate) entries: Vec<String>,
        }

        #[guarded]
        pub(in crate::bank) struct Audit {
            pub(super) lock: Lock,
            #[guarded(lock)]
            pub(super) count: u32,
        }
    }

    pub async fn audits() -> u32 {
        let audit = inner::Audit::new(inner::AuditInit {
            lock: Lock::new(()),
            count: 3,
        });
        audit.lock.acquire().await.count
    }
}

use bank::{Bank, BankLock};
use warden::LockGuard;

async fn move_money(bank: &Bank) {
    // Named type of the guard: the generated struct is public like `Bank`.
    let mut g: LockGuard<'_, BankLock> = bank.lock.acquire().await;
    g.accounts[0] -= 10;
    g.accounts[1] += 10;
    g.transfers += 1;
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let bank = Bank::open("b");
        move_money(&bank).await;
        assert_eq!(bank.lock.acquire().await.accounts, [90, 110]);
        assert_eq!(bank.lock.acquire().await.transfers, 1);
        assert_eq!(bank.secret().await, 42);
        assert_eq!(bank.name, "b");

        let ledger = bank::inner::Ledger::new(bank::inner::LedgerInit {
            lock: warden::Lock::new(()),
            entries: vec![],
        });
        ledger.lock.acquire().await.entries.push("x".to_owned());
        assert_eq!(ledger.lock.acquire().await.entries.len(), 1);
        assert_eq!(bank::audits().await, 3);
    });
}
