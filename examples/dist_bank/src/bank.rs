//! Accounts in PostgreSQL, each guarded by a `dist::Lock`, written with
//! fence tokens.
//!
//! The fence protocol, per account: after acquiring its lock, *claim* the
//! account in storage (`fence = mine` where `fence < mine`), read, and
//! write only `WHERE fence = mine`, all in one storage transaction. A
//! holder whose lock was lost (paused past its lease, cut off) has a
//! smaller token than the holder after it, so its claim or its write
//! matches no row: it is refused, whichever of the two gets to storage
//! first.

use tokio_postgres::Client;
use warden::dist::{Error, Session};

/// Opening balance of every account.
pub const INITIAL: i64 = 1_000;

/// Creates `accounts` accounts of [`INITIAL`] each (if the table is new).
///
/// # Errors
///
/// If a statement fails.
// ANCHOR: schema
pub async fn setup(db: &Client, accounts: i64) -> Result<(), Error> {
    db.batch_execute(
        "CREATE TABLE IF NOT EXISTS account (
             id      bigint PRIMARY KEY,
             balance bigint NOT NULL,
             fence   bigint NOT NULL DEFAULT 0  -- largest token that claimed it
         )",
    )
    .await?;
    db.execute(
        "INSERT INTO account (id, balance) SELECT g, $2 FROM generate_series(0, $1::bigint - 1) g \
         ON CONFLICT DO NOTHING",
        &[&accounts, &INITIAL],
    )
    .await?;
    Ok(())
}
// ANCHOR_END: schema

/// What became of one transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed.
    Done,
    /// Refused by a fence: this process's lock had been lost.
    Fenced,
    /// Not enough money in the source account.
    Insufficient,
}

// ANCHOR: transfer
/// Moves `amount` from account `from` to account `to`.
///
/// # Errors
///
/// A lock that cannot be had, or a storage statement that fails; nothing
/// is half-done (the storage transaction rolls back).
pub async fn transfer(
    session: &Session,
    db: &mut Client,
    from: i64,
    to: i64,
    amount: i64,
) -> Result<Outcome, Error> {
    // Two locks, always in the same order: no deadlock between processes.
    let (first, second) = (from.min(to), from.max(to));
    let g1 = session.lock(&format!("account/{first}")).acquire().await?;
    let g2 = session.lock(&format!("account/{second}")).acquire().await?;
    let fence = |account: i64| {
        let g = if account == first { &g1 } else { &g2 };
        i64::try_from(g.fence()).expect("fence fits in bigint")
    };

    let tx = db.transaction().await?;
    for account in [first, second] {
        // Claim: from now on, writes with an older token are refused.
        let claimed = tx
            .execute(
                "UPDATE account SET fence = $2 WHERE id = $1 AND fence < $2",
                &[&account, &fence(account)],
            )
            .await?;
        if claimed == 0 {
            return Ok(Outcome::Fenced); // a newer holder got there first
        }
    }
    let balance: i64 = tx
        .query_one("SELECT balance FROM account WHERE id = $1", &[&from])
        .await?
        .get(0);
    if balance < amount {
        return Ok(Outcome::Insufficient);
    }
    for (account, delta) in [(from, -amount), (to, amount)] {
        let written = tx
            .execute(
                "UPDATE account SET balance = balance + $2 WHERE id = $1 AND fence = $3",
                &[&account, &delta, &fence(account)],
            )
            .await?;
        if written == 0 {
            return Ok(Outcome::Fenced);
        }
    }
    tx.commit().await?;
    Ok(Outcome::Done)
    // g2, then g1, are released here: at once, on a background task.
}
// ANCHOR_END: transfer

/// The sum of all balances.
///
/// # Errors
///
/// If the statement fails.
pub async fn total(db: &Client) -> Result<i64, Error> {
    let row = db
        .query_one("SELECT sum(balance)::bigint, count(*) FROM account", &[])
        .await?;
    Ok(row.get(0))
}
