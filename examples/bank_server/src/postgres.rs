//! The replicated mode (feature `postgres`, `--postgres URL`): the accounts
//! live in PostgreSQL, so any number of `bank_server` processes given the
//! same URL serve the same bank.
//!
//! * the tables (`bank.account`, `bank.transfer`, ...) are created at start,
//!   idempotently, under a `dist` lock (two replicas starting at once do not
//!   race on `CREATE ... IF NOT EXISTS`);
//! * a transfer takes the `dist` locks of its two accounts, lowest id first
//!   (no deadlock between replicas), and writes in one transaction that
//!   checks both locks' fence tokens (a stale holder's write is refused);
//!   the transaction runs on the first lock's own session, so it cannot
//!   commit once that lock is lost;
//! * every transfer is recorded under a key: the client's `Idempotency-Key`
//!   (a repeated key answers the first receipt and moves nothing), or one
//!   the server makes. When a commit's answer is lost, the server takes the
//!   first account's lock again — proof that the session that ran the
//!   transaction is gone or done — and looks the key up, so a transfer that
//!   committed is never answered as a failure;
//! * settlement: a `dist::Condition` on a `dist::Lock` wakes a settler in
//!   whichever replica waits, and the batch is written in that lock's own
//!   transaction.
//!
//! Connections: each transfer in progress holds two (one per lock), so a
//! replica uses up to `2 × max_transfers` plus a few (the session's control
//! and listening connections, the settler's, and one for the statements
//! that need no lock). Keep `replicas × (2 × max_transfers + 6)` under the
//! server's `max_connections` (100 by default).

// "PostgreSQL" is a name, not code: no backticks.
#![allow(clippy::doc_markdown)]

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Row};
use warden::dist::{self, Options, Session};
use warden::{Event, Lock};

use crate::bank::{Account, Audit, BankError, Posting, Receipt, Settlement, Store};

/// The namespace of the bank's `dist` locks (and the schema of warden's
/// own tables); the bank's tables are in the schema `bank`.
pub const LOCK_NAMESPACE: &str = "bank_locks";

/// The key of the `dist` lock of account `id`.
pub fn account_lock(id: i64) -> String {
    format!("account/{id}")
}

/// How often a waiting settler looks at the pending transfers without
/// being woken (a wake-up can be missed, see [`PgBank`]'s settlement).
const SETTLE_POLL: Duration = Duration::from_secs(1);

/// The most transfers one settlement batch takes (the rest wait for the
/// next round).
const SETTLE_MAX: i64 = 10_000;

/// How the replicated bank reaches its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// A `postgres://` URL or a libpq `key=value` string.
    pub url: String,
    /// The `dist` session's lease: a replica that stops answering (paused,
    /// cut off) loses its locks after this long.
    pub lease: Duration,
    /// How long a transfer waits for an account's lock before it is
    /// answered 503; also the connect timeout.
    pub lock_timeout: Duration,
    /// Transfers that wake a settler, counted per replica.
    pub settle_batch: NonZeroUsize,
    /// Transfers in progress at once in this replica (two connections each).
    pub max_transfers: NonZeroUsize,
}

// ANCHOR: schema
/// The bank's tables. Run at every start, in one transaction, under the
/// `dist` lock `bank/schema`: idempotent, and one replica at a time.
pub const SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS bank;
-- The money in the bank: what the accounts were opened with. Every audit
-- checks that the balances add up to it.
CREATE TABLE IF NOT EXISTS bank.vault (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    total bigint NOT NULL CHECK (total >= 0)
);
INSERT INTO bank.vault (total) VALUES (0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS bank.account (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    balance bigint NOT NULL CHECK (balance >= 0),
    fence   bigint NOT NULL DEFAULT 0  -- the largest lock token that claimed it
);
CREATE TABLE IF NOT EXISTS bank.settlement (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fence     bigint NOT NULL,         -- the settler's lock token
    transfers bigint NOT NULL,
    volume    numeric NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
-- One row per transfer, under its key: 'key:' and the client's
-- Idempotency-Key, or 'auto:' and a UUID the server made. The receipt's
-- balances are kept, to answer a repeated key with the first answer.
CREATE TABLE IF NOT EXISTS bank.transfer (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key          text NOT NULL UNIQUE,
    from_id      bigint NOT NULL REFERENCES bank.account,
    to_id        bigint NOT NULL REFERENCES bank.account,
    amount       bigint NOT NULL CHECK (amount > 0),
    from_balance bigint NOT NULL,
    to_balance   bigint NOT NULL,
    batch        bigint REFERENCES bank.settlement,  -- NULL: not settled yet
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS transfer_pending ON bank.transfer (id) WHERE batch IS NULL;
";

/// Creates the tables if they are missing.
async fn migrate(session: &Session) -> Result<(), dist::Error> {
    // `CREATE ... IF NOT EXISTS` is not safe against itself: two at once
    // can fail one with a duplicate key in PostgreSQL's catalog.
    let mut guard = session.lock("bank/schema").acquire().await?;
    let tx = guard.transaction().await?;
    tx.batch_execute(SCHEMA).await?;
    tx.commit().await?;
    guard.release().await
}
// ANCHOR_END: schema

/// The statements that need no lock run on one connection of our own
/// (tokio-postgres pipelines concurrent queries on it), opened again when
/// it breaks.
struct Db {
    config: tokio_postgres::Config,
    client: Lock<Option<Arc<Client>>>,
}

impl Db {
    async fn client(&self) -> Result<Arc<Client>, dist::Error> {
        let mut slot = self.client.acquire().await;
        if let Some(client) = slot.as_ref()
            && !client.is_closed()
        {
            return Ok(client.clone());
        }
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!("database connection closed: {}", dist::Error::from(e));
            }
        });
        let client = Arc::new(client);
        *slot = Some(client.clone());
        Ok(client)
    }
}

// ANCHOR: pgbank
/// The bank in PostgreSQL, shared by every replica that connects to the
/// same database.
pub struct PgBank {
    /// The `dist` session: the accounts' locks, the settlement's lock and
    /// condition.
    session: Session,
    /// For the statements that need no lock.
    db: Db,
    lock_timeout: Duration,
    settle_batch: usize,
    /// Transfers this replica committed: every `settle_batch`-th notifies.
    posted: AtomicUsize,
    /// Held by the replica that settles a batch.
    settle_lock: dist::Lock,
    /// Wakes a settler, in any replica.
    settle_ready: dist::Condition,
    /// Set at shutdown: this replica's settler settles what is left.
    closing: Event,
}
// ANCHOR_END: pgbank

/// A transfer's key in `bank.transfer`.
struct TransferKey {
    /// As stored: `key:...` or `auto:...`.
    stored: String,
    /// The client's `Idempotency-Key`, if it sent one.
    client: Option<String>,
}

impl TransferKey {
    fn new(header: Option<&[u8]>) -> Result<TransferKey, BankError> {
        match header {
            None => Ok(TransferKey {
                stored: format!("auto:{}", uuid::Uuid::new_v4()),
                client: None,
            }),
            Some(bytes) => {
                let visible = |b: &u8| (0x21..=0x7e).contains(b);
                if bytes.is_empty() || bytes.len() > 255 || !bytes.iter().all(visible) {
                    return Err(BankError::BadKey);
                }
                let key = String::from_utf8_lossy(bytes).into_owned();
                Ok(TransferKey {
                    stored: format!("key:{key}"),
                    client: Some(key),
                })
            }
        }
    }
}

/// How one attempt at a transfer ended, short of success.
enum Failed {
    /// Refused by the rules (insufficient funds, a key reused): nothing
    /// was done.
    Refused(BankError),
    /// Nothing was done, for want of the database or a lock: retry.
    NotDone(String),
    /// The commit was sent and its answer lost: done or not, unknown yet.
    Unknown(String),
}

/// How a transfer succeeded.
enum Done {
    /// It moved the money now.
    Moved(Receipt),
    /// Its key had moved it before: the first receipt.
    Replayed(Receipt),
}

fn not_done(e: &dist::Error) -> Failed {
    Failed::NotDone(format!("the database is unavailable ({e})"))
}

fn unavailable(e: &dist::Error) -> BankError {
    BankError::Unavailable(format!("the database is unavailable ({e})"))
}

fn id_of(id: i64) -> u64 {
    u64::try_from(id).unwrap_or_default()
}

const FIND: &str =
    "SELECT from_id, to_id, amount, from_balance, to_balance FROM bank.transfer WHERE key = $1";

// ANCHOR: fenced_sql
/// Claims both accounts for our tokens (only if no newer token has), and
/// reads their balances. The rows stay locked until the transaction ends.
const CLAIM: &str = "
UPDATE bank.account AS a SET fence = c.fence
  FROM (VALUES ($1::bigint, $2::bigint), ($3::bigint, $4::bigint)) AS c (id, fence)
 WHERE a.id = c.id AND a.fence < c.fence
RETURNING a.id, a.balance";

/// Writes both balances, only where our tokens still stand.
const WRITE: &str = "
UPDATE bank.account AS a SET balance = c.balance
  FROM (VALUES ($1::bigint, $2::bigint, $3::bigint),
               ($4::bigint, $5::bigint, $6::bigint)) AS c (id, balance, fence)
 WHERE a.id = c.id AND a.fence = c.fence";

/// Records the transfer under its key, with its receipt.
const RECORD: &str = "
INSERT INTO bank.transfer (key, from_id, to_id, amount, from_balance, to_balance)
VALUES ($1, $2, $3, $4, $5, $6)";
// ANCHOR_END: fenced_sql

impl PgBank {
    /// Connects to the database, creates the tables if they are missing,
    /// and returns the bank.
    ///
    /// # Errors
    ///
    /// If the database cannot be reached or refuses the tables.
    pub async fn connect(options: &PgOptions) -> Result<PgBank, dist::Error> {
        let mut config: tokio_postgres::Config = options.url.parse()?;
        config
            .application_name("bank_server")
            .connect_timeout(options.lock_timeout);
        let session = Session::connect(
            &options.url,
            Options::default()
                .lease(options.lease)
                .namespace(LOCK_NAMESPACE)
                .idle_connections(2 * options.max_transfers.get() + 2),
        )
        .await?;
        migrate(&session).await?;
        tracing::info!(
            database = config.get_dbname().unwrap_or("(the user's)"),
            lease = ?options.lease,
            "accounts in PostgreSQL"
        );
        let settle_lock = session.lock("bank/settlement");
        Ok(PgBank {
            settle_ready: session.condition(&settle_lock),
            settle_lock,
            db: Db {
                config,
                client: Lock::new(None),
            },
            session,
            lock_timeout: options.lock_timeout,
            settle_batch: options.settle_batch.get(),
            posted: AtomicUsize::new(0),
            closing: Event::new(),
        })
    }

    /// Both ids as stored, if both accounts exist (accounts are never
    /// deleted, so this holds from here on). Checked before any lock is
    /// taken, so unknown ids make no lock keys.
    async fn existing(&self, from: u64, to: u64) -> Result<(i64, i64), BankError> {
        let wanted: Vec<i64> = [from, to]
            .iter()
            .filter_map(|&id| i64::try_from(id).ok())
            .collect();
        let client = self.db.client().await.map_err(|e| unavailable(&e))?;
        let found: Vec<i64> = client
            .query("SELECT id FROM bank.account WHERE id = ANY($1)", &[&wanted])
            .await
            .map_err(|e| unavailable(&e.into()))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let stored = |id: u64| {
            i64::try_from(id)
                .ok()
                .filter(|id| found.contains(id))
                .ok_or(BankError::NoSuchAccount(id))
        };
        Ok((stored(from)?, stored(to)?))
    }

    async fn lock_account(&self, id: i64) -> Result<dist::LockGuard, Failed> {
        self.session
            .lock(&account_lock(id))
            .acquire_timeout(self.lock_timeout)
            .await
            .map_err(|e| match e {
                dist::Error::Timeout => Failed::NotDone(format!(
                    "account {id} is busy: its lock was not granted within {:?}",
                    self.lock_timeout
                )),
                e => not_done(&e),
            })
    }

    // ANCHOR: attempt
    /// One attempt: both locks in id order, then one transaction on the
    /// first lock's session that claims both accounts with the locks'
    /// fence tokens, writes only where they still stand, records the
    /// transfer under its key, and commits.
    async fn attempt(
        &self,
        key: &TransferKey,
        from: i64,
        to: i64,
        amount: i64,
    ) -> Result<Done, Failed> {
        // The same order in every replica: no two transfers wait for each
        // other in a circle.
        let (first, second) = (from.min(to), from.max(to));
        let mut g1 = self.lock_account(first).await?;
        let g2 = self.lock_account(second).await?;
        let token = |g: &dist::LockGuard| {
            i64::try_from(g.fence()).map_err(|_| Failed::NotDone("a fence token past i64".into()))
        };
        let (f1, f2) = (token(&g1)?, token(&g2)?);
        let fence_of = |id: i64| if id == first { f1 } else { f2 };

        // Fenced for free as well: this transaction runs on g1's own
        // session, which cannot commit once the lock is lost.
        let tx = g1.transaction().await.map_err(|e| not_done(&e))?;
        let sql = |e: tokio_postgres::Error| not_done(&e.into());
        if let Some(row) = tx.query_opt(FIND, &[&key.stored]).await.map_err(sql)? {
            return replay(key, &row, from, to, amount);
        }
        let claimed = tx
            .query(CLAIM, &[&first, &f1, &second, &f2])
            .await
            .map_err(sql)?;
        let balance = |id: i64| {
            claimed
                .iter()
                .find(|row| row.get::<_, i64>(0) == id)
                .map(|row| row.get::<_, i64>(1))
        };
        let (Some(from_balance), Some(to_balance)) = (balance(from), balance(to)) else {
            // A newer token has claimed an account: our lock was lost.
            return Err(Failed::NotDone(format!(
                "refused by a fence: the lock of account {first} or {second} was lost \
                 and taken by another holder"
            )));
        };
        let credited =
            to_balance
                .checked_add(amount)
                .ok_or(Failed::Refused(BankError::BalanceOverflow {
                    id: id_of(to),
                    amount,
                }))?;
        let debited = from_balance
            .checked_sub(amount)
            .filter(|&left| left >= 0)
            .ok_or(Failed::Refused(BankError::InsufficientFunds {
                id: id_of(from),
                balance: from_balance,
                amount,
            }))?;
        let written = tx
            .execute(
                WRITE,
                &[
                    &from,
                    &debited,
                    &fence_of(from),
                    &to,
                    &credited,
                    &fence_of(to),
                ],
            )
            .await
            .map_err(sql)?;
        if written != 2 {
            return Err(Failed::NotDone("refused by a fence".into()));
        }
        match tx
            .execute(
                RECORD,
                &[&key.stored, &from, &to, &amount, &debited, &credited],
            )
            .await
        {
            Ok(_) => {}
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                // The same key, committed meanwhile by a transfer between
                // other accounts (the same ones would have waited for our
                // locks and then found it).
                return Err(Failed::Refused(BankError::KeyReused {
                    key: key.client.clone().unwrap_or_default(),
                    first: "one sent at the same time".into(),
                }));
            }
            Err(e) => return Err(sql(e)),
        }
        let receipt = Receipt {
            from: Account {
                id: id_of(from),
                balance: debited,
            },
            to: Account {
                id: id_of(to),
                balance: credited,
            },
        };
        match tx.commit().await {
            Ok(()) => Ok(Done::Moved(receipt)),
            // The server answered: it did not commit.
            Err(e) if server_refused(&e) => Err(not_done(&e)),
            // No answer: it may have committed.
            Err(e) => Err(Failed::Unknown(e.to_string())),
        }
        // g2, then g1, are released here: at once, on a background task.
    }
    // ANCHOR_END: attempt

    // ANCHOR: resolve
    /// A commit went unanswered. Once this replica holds the first
    /// account's lock again, the session that ran the transaction has
    /// released it or ended — so its commit is decided — and the key says
    /// whether it happened.
    async fn resolve(
        &self,
        key: &TransferKey,
        first: i64,
        why: &str,
    ) -> Result<Option<Receipt>, BankError> {
        tracing::warn!(key = key.stored, "a commit went unanswered ({why}); asking");
        let deadline = tokio::time::Instant::now() + 2 * self.lock_timeout;
        loop {
            let asked = async {
                let guard = self
                    .session
                    .lock(&account_lock(first))
                    .acquire_timeout(self.lock_timeout)
                    .await?;
                let client = self.db.client().await?;
                let row = client.query_opt(FIND, &[&key.stored]).await?;
                drop(guard);
                Ok::<_, dist::Error>(row)
            };
            match asked.await {
                Ok(Some(row)) => return Ok(Some(stored_receipt(&row))),
                Ok(None) => return Ok(None),
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!("cannot ask yet: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    let keyed = key.client.is_some();
                    return Err(BankError::OutcomeUnknown {
                        why: format!("the commit went unanswered ({why}), then {e}"),
                        advice: if keyed {
                            "retry with the same Idempotency-Key, which moves the money at \
                             most once"
                        } else {
                            "check the balances before retrying, and send an Idempotency-Key \
                             header next time so that a retry is safe"
                        },
                        retry_safe: keyed,
                    });
                }
            }
        }
    }
    // ANCHOR_END: resolve

    /// Counts a committed transfer; every `settle_batch`-th wakes a settler
    /// (in whichever replica waits), in the background.
    fn posted(&self) {
        let n = self.posted.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(self.settle_batch) {
            let ready = self.settle_ready.clone();
            tokio::spawn(async move {
                if let Err(e) = ready.notify_one().await {
                    tracing::debug!("settlement wake-up not sent: {e}");
                }
            });
        }
    }

    /// Transfers waiting for settlement, counted up to `settle_batch`.
    async fn pending(&self) -> Result<usize, dist::Error> {
        let limit = i64::try_from(self.settle_batch).unwrap_or(i64::MAX);
        let row = self
            .db
            .client()
            .await?
            .query_one(
                "SELECT count(*) FROM \
                 (SELECT 1 FROM bank.transfer WHERE batch IS NULL LIMIT $1) AS p",
                &[&limit],
            )
            .await?;
        Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or_default())
    }

    // ANCHOR: settle_round
    /// One settlement round: waits (under the settlement lock, released
    /// while waiting) until a batch is pending or this replica closes, then
    /// settles what is pending in the lock's own transaction. Returns how
    /// many transfers it settled.
    async fn settle_round(&self, closing: bool, done: &mut Settlement) -> Result<i64, dist::Error> {
        let mut guard = self.settle_lock.acquire().await?;
        // Python: `cond.wait_for(lambda: pending() >= batch or closing)`,
        // with a timeout: the transfers do not hold this lock, so a wake-up
        // sent between our check and our wait is missed.
        while !closing && !self.closing.is_set() && self.pending().await? < self.settle_batch {
            guard = tokio::select! {
                woken = self.settle_ready.wait_timeout(guard, SETTLE_POLL) => woken?.0,
                () = self.closing.wait() => self.settle_lock.acquire().await?,
            };
        }
        let fence = i64::try_from(guard.fence()).unwrap_or(i64::MAX);
        let tx = guard.transaction().await?;
        let rows = tx
            .query(
                "SELECT id, from_id, to_id, amount FROM bank.transfer \
                 WHERE batch IS NULL ORDER BY id LIMIT $1 FOR UPDATE",
                &[&SETTLE_MAX],
            )
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let batch: Vec<Posting> = rows
            .iter()
            .map(|row| Posting {
                from: id_of(row.get(1)),
                to: id_of(row.get(2)),
                amount: row.get(3),
            })
            .collect();
        let ids: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
        let count = i64::try_from(ids.len()).unwrap_or(i64::MAX);
        let volume: i128 = batch.iter().map(|p| i128::from(p.amount)).sum();
        let settlement: i64 = tx
            .query_one(
                "INSERT INTO bank.settlement (fence, transfers, volume) \
                 VALUES ($1, $2, $3::text::numeric) RETURNING id",
                &[&fence, &count, &volume.to_string()],
            )
            .await?
            .get(0);
        tx.execute(
            "UPDATE bank.transfer SET batch = $1 WHERE id = ANY($2)",
            &[&settlement, &ids],
        )
        .await?;
        tx.commit().await?; // refused if the settlement lock was lost
        done.record(&batch);
        Ok(count)
    }
    // ANCHOR_END: settle_round
}

/// A key found in `bank.transfer`: the same transfer again (its first
/// receipt), or another one (refused).
fn replay(key: &TransferKey, row: &Row, from: i64, to: i64, amount: i64) -> Result<Done, Failed> {
    let (was_from, was_to, was_amount): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    if (was_from, was_to, was_amount) == (from, to, amount) {
        return Ok(Done::Replayed(stored_receipt(row)));
    }
    Err(Failed::Refused(BankError::KeyReused {
        key: key.client.clone().unwrap_or_default(),
        first: format!("from account {was_from} to account {was_to}, amount {was_amount}"),
    }))
}

/// The receipt kept with a transfer.
fn stored_receipt(row: &Row) -> Receipt {
    Receipt {
        from: Account {
            id: id_of(row.get(0)),
            balance: row.get(3),
        },
        to: Account {
            id: id_of(row.get(1)),
            balance: row.get(4),
        },
    }
}

/// Whether a failed `COMMIT` was refused by the server with an ERROR (a
/// deferred constraint, a serialization failure): then the transaction
/// surely rolled back. A FATAL (the backend terminated) may come after the
/// commit itself, and a broken connection says nothing: both may have
/// committed.
fn server_refused(e: &dist::Error) -> bool {
    let dist::Error::Connection(e) = e else {
        return false;
    };
    e.postgres()
        .and_then(tokio_postgres::Error::as_db_error)
        .and_then(tokio_postgres::error::DbError::parsed_severity)
        == Some(tokio_postgres::error::Severity::Error)
}

impl Store for PgBank {
    async fn open(&self, balance: i64) -> Result<Account, BankError> {
        if balance < 0 {
            return Err(BankError::NegativeBalance(balance));
        }
        // One statement: the vault's total and the new account move
        // together, or neither does (when the total would pass i64::MAX).
        let client = self.db.client().await.map_err(|e| unavailable(&e))?;
        let statement = client
            .prepare(
                "WITH vault AS (UPDATE bank.vault SET total = total + $1 \
                                 WHERE total <= 9223372036854775807 - $1 RETURNING total) \
                 INSERT INTO bank.account (balance) SELECT $1 FROM vault RETURNING id, balance",
            )
            .await
            .map_err(|e| unavailable(&e.into()))?;
        let row = match client.query_opt(&statement, &[&balance]).await {
            Ok(row) => row.ok_or(BankError::TotalOverflow { balance })?,
            Err(e) => {
                let e = dist::Error::from(e);
                if server_refused(&e) {
                    return Err(unavailable(&e));
                }
                // Sent, and no answer: it may have committed. Opening
                // takes no key, so there is nothing to look up.
                return Err(BankError::OutcomeUnknown {
                    why: format!("the database connection broke while opening it ({e})"),
                    advice: "the account may have been opened; GET /audit counts the \
                             accounts, GET /accounts/{id} shows one",
                    retry_safe: false,
                });
            }
        };
        Ok(Account {
            id: id_of(row.get(0)),
            balance: row.get(1),
        })
    }

    async fn account(&self, id: u64) -> Result<Account, BankError> {
        let Ok(stored) = i64::try_from(id) else {
            return Err(BankError::NoSuchAccount(id));
        };
        let row = self
            .db
            .client()
            .await
            .map_err(|e| unavailable(&e))?
            .query_opt("SELECT balance FROM bank.account WHERE id = $1", &[&stored])
            .await
            .map_err(|e| unavailable(&e.into()))?
            .ok_or(BankError::NoSuchAccount(id))?;
        Ok(Account {
            id,
            balance: row.get(0),
        })
    }

    async fn transfer(&self, from: u64, to: u64, amount: i64) -> Result<Receipt, BankError> {
        self.transfer_keyed(None, from, to, amount).await
    }

    // ANCHOR: transfer_keyed
    async fn transfer_keyed(
        &self,
        key: Option<&[u8]>,
        from: u64,
        to: u64,
        amount: i64,
    ) -> Result<Receipt, BankError> {
        if amount <= 0 {
            return Err(BankError::NonPositiveAmount(amount));
        }
        let key = TransferKey::new(key)?;
        let (from_id, to_id) = self.existing(from, to).await?;
        if from == to {
            return Err(BankError::SameAccount(from));
        }
        match self.attempt(&key, from_id, to_id, amount).await {
            Ok(Done::Moved(receipt)) => {
                self.posted();
                Ok(receipt)
            }
            Ok(Done::Replayed(receipt)) => {
                tracing::debug!(key = key.stored, "a repeated key: the first receipt");
                Ok(receipt)
            }
            Err(Failed::Refused(e)) => Err(e),
            Err(Failed::NotDone(why)) => Err(BankError::Unavailable(why)),
            Err(Failed::Unknown(why)) => {
                match self.resolve(&key, from_id.min(to_id), &why).await? {
                    Some(receipt) => {
                        // It committed: answer it as done, never as failed.
                        self.posted();
                        Ok(receipt)
                    }
                    None => Err(BankError::Unavailable(format!(
                        "the commit went unanswered ({why}) and did not happen"
                    ))),
                }
            }
        }
    }
    // ANCHOR_END: transfer_keyed

    async fn audit(&self) -> Result<Audit, BankError> {
        // One statement, so one snapshot: a transfer's two rows are both in
        // it or both not.
        let row = self
            .db
            .client()
            .await
            .map_err(|e| unavailable(&e))?
            .query_one(
                "SELECT (SELECT count(*) FROM bank.account), \
                        (SELECT coalesce(sum(balance), 0) FROM bank.account)::text, \
                        (SELECT total FROM bank.vault), \
                        (SELECT count(*) FROM bank.transfer)",
                &[],
            )
            .await
            .map_err(|e| unavailable(&e.into()))?;
        let sum: i128 = row.get::<_, String>(1).parse().unwrap_or(-1);
        let total: i64 = row.get(2);
        if sum != i128::from(total) {
            return Err(BankError::AuditFailed { sum, total });
        }
        Ok(Audit {
            accounts: id_of(row.get(0)),
            total,
            transfers: id_of(row.get(3)),
        })
    }

    // ANCHOR: settle
    async fn settle(&self) -> Settlement {
        let mut done = Settlement::default();
        let mut failures = 0;
        loop {
            let closing = self.closing.is_set();
            match self.settle_round(closing, &mut done).await {
                // Closing: once nothing is left (or a round could not
                // take it all), stop.
                Ok(n) if closing && n < SETTLE_MAX => {
                    tracing::info!(
                        batches = done.batches,
                        settled = done.settled,
                        "settlement closed"
                    );
                    return done;
                }
                Ok(_) => failures = 0,
                Err(e) if closing && failures >= 2 => {
                    tracing::error!("settlement stopped with transfers left unsettled: {e}");
                    return done;
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!("settlement: {e}; trying again in a second");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = self.closing.wait(), if !closing => {}
                    }
                }
            }
        }
    }
    // ANCHOR_END: settle

    async fn close(&self) {
        self.closing.set();
    }
}
