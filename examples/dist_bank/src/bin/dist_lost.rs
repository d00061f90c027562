//! A guard whose session ends while its work runs: `lost()` wins the race
//! and the work stops before it writes.
//!
//! ```text
//! cargo run -p warden-dist-bank --features postgres --bin dist_lost
//! ```
//!
//! The session is ended the way an administrator (or a failover) would:
//! `pg_terminate_backend` on the backend that holds the lock.

#![allow(clippy::doc_markdown)]

use std::time::Duration;

use warden::dist::{Error, LockGuard, Options, Session};
use warden_dist_bank::cluster::Cluster;

/// A long job under the lock (here: it never finishes by itself).
async fn write_report(_guard: &mut LockGuard) -> Result<(), Error> {
    tokio::time::sleep(Duration::from_hours(1)).await;
    Ok(())
}

async fn run(session: &Session) -> Result<(), Error> {
    // ANCHOR: lost
    let mut guard = session.lock("report").acquire().await?;
    tokio::select! {
        why = guard.lost() => {
            // The server has freed the lock; someone else may hold it now.
            println!("lock lost ({why}): stopped before writing");
            return Ok(());
        }
        result = write_report(&mut guard) => result?,
    }
    guard.release().await?;
    // ANCHOR_END: lost
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = Cluster::start()?;
    let url = cluster.url("postgres");
    let session = Session::connect(&url, Options::default()).await?;
    let (admin, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    // The "administrator": once the lock is held, end its session.
    tokio::spawn(async move {
        loop {
            let ended = admin
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks \
                     WHERE locktype = 'advisory' AND granted",
                    &[],
                )
                .await
                .map(|rows| !rows.is_empty());
            if ended.unwrap_or(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    run(&session).await?;
    Ok(())
}
