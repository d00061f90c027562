//! The bank's state: balances behind a warden [`Lock`], made unreachable
//! without it by `#[guarded]`, and a settlement task woken by a
//! [`Condition`] when enough transfers are pending.
//!
//! The rules of the bank (what a transfer may do) are methods of
//! [`BankBooks`], the struct `#[guarded]` generates for the lock's data, so
//! they can only be called through the lock's guard. [`TokioBank`] puts the
//! very same `BankBooks` behind a `tokio::sync::Mutex` for the comparison.
//!
//! [`TokioBank`]: crate::tokio_bank::TokioBank

use std::future::Future;
use std::num::NonZeroUsize;

use serde::Serialize;
use warden::{Condition, Lock, guarded};

/// An account as the API shows it: `{"id": 1, "balance": 990}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The account's id; the first account opened is 1.
    pub id: u64,
    /// Its balance, never negative.
    pub balance: i64,
}

/// Both accounts after a transfer: `{"from": {..}, "to": {..}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The account the money left.
    pub from: Account,
    /// The account the money reached.
    pub to: Account,
}

/// What `GET /audit` answers: `{"accounts": 2, "total": 2000, "transfers": 1}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// How many accounts are open.
    pub accounts: u64,
    /// The sum of every balance, counted under the lock.
    pub total: i64,
    /// How many transfers have succeeded.
    pub transfers: u64,
}

/// A transfer that happened and waits to be settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    /// Paying account.
    pub from: u64,
    /// Receiving account.
    pub to: u64,
    /// How much moved.
    pub amount: i64,
}

/// What the settlement task did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settlement {
    /// Batches settled.
    pub batches: u64,
    /// Transfers settled, across all batches.
    pub settled: u64,
}

// ANCHOR: error
/// Why the bank refused a request. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// No account has this id.
    #[error("account {0} does not exist: open one with POST /accounts, which answers its id")]
    NoSuchAccount(u64),
    /// An opening balance below zero.
    #[error("an opening balance cannot be negative (got {0}): send 0 or more")]
    NegativeBalance(i64),
    /// A transfer of zero or less.
    #[error("a transfer amount must be a positive integer (got {0}): send 1 or more")]
    NonPositiveAmount(i64),
    /// A transfer from an account to itself.
    #[error("cannot transfer from account {0} to itself: name two different accounts")]
    SameAccount(u64),
    /// The paying account holds less than the amount.
    #[error(
        "account {id} holds {balance}, not enough to transfer {amount}: send at most {balance}"
    )]
    InsufficientFunds {
        /// The paying account.
        id: u64,
        /// What it holds.
        balance: i64,
        /// What was asked.
        amount: i64,
    },
    /// The receiving balance would pass `i64::MAX`.
    #[error(
        "transferring {amount} would take account {id} past the largest balance, {max}: send less",
        max = i64::MAX
    )]
    BalanceOverflow {
        /// The receiving account.
        id: u64,
        /// What was asked.
        amount: i64,
    },
    /// Opening this account would take the bank's total past `i64::MAX`.
    #[error(
        "opening an account with {balance} would take the bank's total past {max}: open it with less",
        max = i64::MAX
    )]
    TotalOverflow {
        /// The opening balance asked for.
        balance: i64,
    },
    /// Replicated mode: the database or a lock could not be had (the
    /// server unreachable, a lock not granted in time, a lock lost, a write
    /// refused by a fence). Nothing was done: a retry is safe.
    #[cfg(feature = "postgres")]
    #[error("{0}: nothing was done; retry in a second")]
    Unavailable(String),
    /// Replicated mode: a write was sent but its answer was lost, and
    /// the database could not be asked in time whether it happened. The
    /// one error that does not promise "nothing changed".
    #[cfg(feature = "postgres")]
    #[error("the outcome of this request is unknown ({why}): {advice}")]
    OutcomeUnknown {
        /// What went wrong.
        why: String,
        /// What to do about it.
        advice: &'static str,
        /// Whether a retry as it is is safe (a transfer with an
        /// `Idempotency-Key`).
        retry_safe: bool,
    },
    /// Replicated mode: an `Idempotency-Key` already used for a different
    /// transfer.
    #[cfg(feature = "postgres")]
    #[error(
        "Idempotency-Key {key:?} was used for another transfer ({first}): use a new key for \
         a new transfer"
    )]
    KeyReused {
        /// The key.
        key: String,
        /// The transfer it was first used for.
        first: String,
    },
    /// Replicated mode: an `Idempotency-Key` header that is not 1 to 255
    /// visible ASCII characters.
    #[cfg(feature = "postgres")]
    #[error("an Idempotency-Key is 1 to 255 visible ASCII characters (a UUID, say)")]
    BadKey,
    /// The balances do not add up to the bank's total: a bug, never the
    /// client's fault.
    #[error(
        "audit failed: the balances add up to {sum} but the bank holds {total}; this is a bug in the server"
    )]
    AuditFailed {
        /// What the balances add up to.
        sum: i128,
        /// What the bank should hold.
        total: i64,
    },
}
// ANCHOR_END: error

// ANCHOR: state
/// The bank. Its balances are `#[guarded(books)]`: they live *inside* the
/// `books` lock, so no code — not a handler, not the audit, not this
/// module — can read or change one without holding the lock.
#[guarded]
pub struct Bank {
    /// The books: every balance, and the transfers awaiting settlement.
    pub books: Lock,
    /// Balance of account `id` at index `id - 1`.
    #[guarded(books)]
    balances: Vec<i64>,
    /// The money in the bank: the sum of `balances`, which transfers keep.
    #[guarded(books)]
    total: i64,
    /// Transfers that succeeded.
    #[guarded(books)]
    transfers: u64,
    /// Transfers not yet settled.
    #[guarded(books)]
    pending: Vec<Posting>,
    /// Transfers settled so far.
    #[guarded(books)]
    settled: u64,
    /// Set at shutdown: the settlement task settles what is left and stops.
    #[guarded(books)]
    closing: bool,
    /// Wakes the settlement task when `settle_batch` transfers are pending
    /// (or the bank is closing). Bound to `books`: it waits with the
    /// `books` guard, and any other guard is a compile error.
    #[condition(books)]
    settle_ready: Condition,
    /// How many pending transfers make a batch.
    settle_batch: usize,
}
// ANCHOR_END: state

impl BankBooks {
    /// No accounts, no money.
    pub fn empty() -> BankBooks {
        BankBooks {
            balances: Vec::new(),
            total: 0,
            transfers: 0,
            pending: Vec::new(),
            settled: 0,
            closing: false,
        }
    }

    /// The balance slot of account `id`, if it exists.
    fn slot(&self, id: u64) -> Result<usize, BankError> {
        usize::try_from(id)
            .ok()
            .and_then(|id| id.checked_sub(1))
            .filter(|&i| i < self.balances.len())
            .ok_or(BankError::NoSuchAccount(id))
    }

    fn account_at(&self, index: usize) -> Account {
        Account {
            id: u64::try_from(index).map_or(u64::MAX, |i| i + 1),
            balance: self.balances[index],
        }
    }

    /// Opens an account with `balance`.
    pub fn open(&mut self, balance: i64) -> Result<Account, BankError> {
        if balance < 0 {
            return Err(BankError::NegativeBalance(balance));
        }
        // The total bounds every balance (none is negative), so keeping the
        // total within i64 keeps every balance within i64 too.
        let total = self
            .total
            .checked_add(balance)
            .ok_or(BankError::TotalOverflow { balance })?;
        self.balances.push(balance);
        self.total = total;
        Ok(self.account_at(self.balances.len() - 1))
    }

    /// The account `id`.
    pub fn account(&self, id: u64) -> Result<Account, BankError> {
        Ok(self.account_at(self.slot(id)?))
    }

    // ANCHOR: books_transfer
    /// Moves `amount` from `from` to `to`, or changes nothing and says why.
    /// Every sum is checked: no input can overflow a balance.
    pub fn transfer(&mut self, from: u64, to: u64, amount: i64) -> Result<Receipt, BankError> {
        if amount <= 0 {
            return Err(BankError::NonPositiveAmount(amount));
        }
        // Both accounts must exist before anything else is said about them:
        // `{"from": 99, "to": 99}` is about an unknown account, not a
        // transfer to itself.
        let (f, t) = (self.slot(from)?, self.slot(to)?);
        if f == t {
            return Err(BankError::SameAccount(from));
        }
        let credited = self.balances[t]
            .checked_add(amount)
            .ok_or(BankError::BalanceOverflow { id: to, amount })?;
        let Some(debited) = self.balances[f]
            .checked_sub(amount)
            .filter(|&left| left >= 0)
        else {
            return Err(BankError::InsufficientFunds {
                id: from,
                balance: self.balances[f],
                amount,
            });
        };
        self.balances[f] = debited;
        self.balances[t] = credited;
        self.transfers += 1;
        self.pending.push(Posting { from, to, amount });
        Ok(Receipt {
            from: self.account_at(f),
            to: self.account_at(t),
        })
    }
    // ANCHOR_END: books_transfer

    // ANCHOR: verify
    /// Python's `verify_accounts`: adds up every balance and checks it
    /// against the money the bank holds. Only reachable through the lock's
    /// guard, so it always sees a consistent snapshot.
    pub fn verify_accounts(&self) -> Result<Audit, BankError> {
        let sum: i128 = self.balances.iter().map(|&b| i128::from(b)).sum();
        if sum != i128::from(self.total) {
            return Err(BankError::AuditFailed {
                sum,
                total: self.total,
            });
        }
        Ok(Audit {
            accounts: u64::try_from(self.balances.len()).unwrap_or(u64::MAX),
            total: self.total,
            transfers: self.transfers,
        })
    }
    // ANCHOR_END: verify

    /// Transfers settled so far.
    pub fn settled(&self) -> u64 {
        self.settled
    }

    /// Transfers waiting for settlement.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether the settlement task has work: a full batch, or closing.
    pub fn ready_to_settle(&self, batch: usize) -> bool {
        self.pending.len() >= batch || self.closing
    }

    /// Whether `batch` transfers are pending.
    pub fn batch_full(&self, batch: usize) -> bool {
        self.pending.len() >= batch
    }

    /// Takes the pending transfers and counts them settled. Also returns
    /// whether the bank is closing.
    pub fn take_pending(&mut self, batch: usize) -> (Vec<Posting>, bool) {
        let taken = std::mem::replace(&mut self.pending, Vec::with_capacity(batch));
        self.settled += u64::try_from(taken.len()).unwrap_or(u64::MAX);
        (taken, self.closing)
    }

    /// Tells the settlement task to settle what is left and stop.
    pub fn close(&mut self) {
        self.closing = true;
    }
}

/// The bank's operations, as the HTTP layer uses them. [`Bank`] (warden)
/// and [`TokioBank`](crate::tokio_bank::TokioBank) (a `tokio::sync::Mutex`)
/// implement it, so one server and one load test run against both.
pub trait Store: Send + Sync + 'static {
    /// Opens an account.
    fn open(&self, balance: i64) -> impl Future<Output = Result<Account, BankError>> + Send;
    /// Looks an account up.
    fn account(&self, id: u64) -> impl Future<Output = Result<Account, BankError>> + Send;
    /// Moves money.
    fn transfer(
        &self,
        from: u64,
        to: u64,
        amount: i64,
    ) -> impl Future<Output = Result<Receipt, BankError>> + Send;
    /// Moves money at most once per `key` (the request's `Idempotency-Key`
    /// header, unchecked): a store that honours keys answers a repeated key
    /// with the first transfer's receipt and moves nothing. The in-memory
    /// banks ignore the key (the default); the replicated bank
    /// (`postgres::PgBank`, feature `postgres`) honours it.
    fn transfer_keyed(
        &self,
        key: Option<&[u8]>,
        from: u64,
        to: u64,
        amount: i64,
    ) -> impl Future<Output = Result<Receipt, BankError>> + Send {
        let _ = key;
        self.transfer(from, to, amount)
    }
    /// `verify_accounts` under the lock.
    fn audit(&self) -> impl Future<Output = Result<Audit, BankError>> + Send;
    /// The settlement task's body: settles batches until [`close`](Store::close).
    fn settle(&self) -> impl Future<Output = Settlement> + Send;
    /// Lets `settle` finish the last batch and return.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

impl Bank {
    /// A bank with no accounts whose settlement runs every `settle_batch`
    /// transfers.
    pub fn empty(settle_batch: NonZeroUsize) -> Bank {
        let books = BankBooks::empty();
        Bank::new(BankInit {
            books: Lock::new(()),
            balances: books.balances,
            total: books.total,
            transfers: books.transfers,
            pending: books.pending,
            settled: books.settled,
            closing: books.closing,
            settle_ready: Condition::new().named("Bank.settle_ready"),
            settle_batch: settle_batch.get(),
        })
    }
}

impl Store for Bank {
    async fn open(&self, balance: i64) -> Result<Account, BankError> {
        self.books.acquire().await.open(balance)
    }

    async fn account(&self, id: u64) -> Result<Account, BankError> {
        self.books.acquire().await.account(id)
    }

    // ANCHOR: transfer
    async fn transfer(&self, from: u64, to: u64, amount: i64) -> Result<Receipt, BankError> {
        let mut books = self.books.acquire().await; // `with bank.lock:`
        let receipt = books.transfer(from, to, amount)?;
        let full = books.batch_full(self.settle_batch);
        drop(books);
        if full {
            // Python would insist on holding the lock here; warden need not:
            // the settlement task re-checks its predicate under the lock.
            self.settle_ready.notify_one();
        }
        Ok(receipt)
    }
    // ANCHOR_END: transfer

    async fn audit(&self) -> Result<Audit, BankError> {
        self.books.acquire().await.verify_accounts()
    }

    // ANCHOR: settle
    async fn settle(&self) -> Settlement {
        let mut done = Settlement::default();
        loop {
            let books = self.books.acquire().await;
            // Python: `cond.wait_for(lambda: len(pending) >= n or closing)`.
            // The lock is released while waiting and held again on return.
            let mut books = self
                .settle_ready
                .wait_for(books, |b| b.ready_to_settle(self.settle_batch))
                .await;
            let (batch, closing) = books.take_pending(self.settle_batch);
            drop(books);
            done.record(&batch);
            if closing {
                tracing::info!(
                    batches = done.batches,
                    settled = done.settled,
                    "settlement closed"
                );
                return done;
            }
        }
    }
    // ANCHOR_END: settle

    async fn close(&self) {
        self.books.acquire().await.close();
        self.settle_ready.notify_all();
    }
}

impl Settlement {
    /// Counts one settled batch (nothing if it is empty) and logs it.
    pub fn record(&mut self, batch: &[Posting]) {
        if batch.is_empty() {
            return;
        }
        let volume: i128 = batch.iter().map(|p| i128::from(p.amount)).sum();
        self.batches += 1;
        self.settled += u64::try_from(batch.len()).unwrap_or(u64::MAX);
        tracing::debug!(
            batch = self.batches,
            transfers = batch.len(),
            volume = i64::try_from(volume).unwrap_or(i64::MAX),
            "settled a batch"
        );
    }
}
