//! The comparison: the same books behind `tokio::sync::Mutex`, with
//! `tokio::sync::Notify` in place of the `Condition`. Everything else — the
//! HTTP layer, the semaphore, the shutdown event, the rules in
//! [`BankBooks`] — is shared with the warden [`Bank`](crate::bank::Bank).

use std::num::NonZeroUsize;

use tokio::sync::{Mutex, Notify};

use crate::bank::{Account, Audit, BankBooks, BankError, Receipt, Settlement, Store};

/// `Mutex<BankBooks>`: what the state looks like without `#[guarded]`.
pub struct TokioBank {
    books: Mutex<BankBooks>,
    settle_ready: Notify,
    settle_batch: usize,
}

impl TokioBank {
    /// A bank with no accounts, settling every `settle_batch` transfers.
    pub fn empty(settle_batch: NonZeroUsize) -> TokioBank {
        TokioBank {
            books: Mutex::new(BankBooks::empty()),
            settle_ready: Notify::new(),
            settle_batch: settle_batch.get(),
        }
    }
}

impl Store for TokioBank {
    async fn open(&self, balance: i64) -> Result<Account, BankError> {
        self.books.lock().await.open(balance)
    }

    async fn account(&self, id: u64) -> Result<Account, BankError> {
        self.books.lock().await.account(id)
    }

    async fn transfer(&self, from: u64, to: u64, amount: i64) -> Result<Receipt, BankError> {
        let mut books = self.books.lock().await;
        let receipt = books.transfer(from, to, amount)?;
        let full = books.batch_full(self.settle_batch);
        drop(books);
        if full {
            self.settle_ready.notify_one();
        }
        Ok(receipt)
    }

    async fn audit(&self) -> Result<Audit, BankError> {
        self.books.lock().await.verify_accounts()
    }

    async fn settle(&self) -> Settlement {
        let mut done = Settlement::default();
        loop {
            let mut books = self.books.lock().await;
            if !books.ready_to_settle(self.settle_batch) {
                drop(books);
                // `notify_one` stores a permit when nobody waits, so a
                // notification sent between the check and here is not lost.
                self.settle_ready.notified().await;
                continue;
            }
            let (batch, closing) = books.take_pending(self.settle_batch);
            drop(books);
            done.record(&batch);
            if closing {
                return done;
            }
        }
    }

    async fn close(&self) {
        self.books.lock().await.close();
        self.settle_ready.notify_one();
    }
}
