//! The `Bank` of DESIGN.md: every lock kind in one struct, built with
//! `BankInit`, used through guards, `Condition` and `get_mut`.

use warden::{Condition, Lock, RLock, guarded};

#[guarded]
pub struct Bank {
    pub lock: Lock,
    #[guarded(lock)]
    pub accounts: Vec<i64>,
    #[guarded(lock)]
    transfers: u64,
    pub changed: Condition,
    pub audit: RLock,
    #[guarded(audit)]
    pub log: Vec<String>,
    pub name: String, // unguarded: free to read
}

impl Bank {
    async fn transfer(&self, from: usize, to: usize, amount: i64) {
        let mut g = self.lock.acquire().await;
        g.accounts[from] -= amount;
        g.accounts[to] += amount;
        g.transfers += 1;
        drop(g);
        self.changed.notify_all();
    }

    async fn wait_for_transfers(&self, n: u64) -> u64 {
        let g = self.lock.acquire().await;
        let g = self.changed.wait_for(g, |data| data.transfers >= n).await;
        g.transfers
    }

    fn reset(&mut self) {
        self.lock.get_mut().transfers = 0;
        self.audit.get_mut().log.clear();
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let name = String::from("Gringotts");
        let mut bank = Bank::new(BankInit {
            lock: Lock::default(),
            accounts: vec![100, 100],
            transfers: 0,
            changed: Condition::new(),
            audit: RLock::default(),
            log: vec!["opened".to_owned()],
            name,
        });
        let (n, ()) = tokio::join!(bank.wait_for_transfers(1), bank.transfer(0, 1, 30));
        assert_eq!(n, 1);
        assert_eq!(bank.lock.acquire().await.accounts, [70, 130]);
        assert_eq!(bank.audit.acquire().await.log.len(), 1);
        assert_eq!(bank.name, "Gringotts");
        bank.reset();
        assert_eq!(bank.lock.get_mut().transfers, 0);

        let again = Bank::from(BankInit {
            lock: Lock::new(()),
            accounts: vec![],
            transfers: 7,
            changed: Condition::default(),
            audit: RLock::new(()),
            log: vec![],
            name: String::new(),
        });
        assert_eq!(again.lock.into_inner().transfers, 7);
    });
}
