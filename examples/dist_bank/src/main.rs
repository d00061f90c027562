//! The bank as several OS processes sharing accounts in PostgreSQL.
//!
//! ```text
//! cargo run -p warden-dist-bank --features postgres --bin dist_bank -- [PROCESSES] [TRANSFERS]
//! ```
//!
//! Starts a private PostgreSQL cluster (or uses `WARDEN_PG_URL`), creates
//! 8 accounts, runs `PROCESSES` (default 4) copies of itself that each make
//! `TRANSFERS` (default 500) random transfers under `dist` locks with
//! fenced writes, then checks that the total is what it was.

#![allow(clippy::doc_markdown)]

use std::process::{Command, ExitCode};

use warden::dist::{Options, Session};
use warden_dist_bank::bank::{self, INITIAL, Outcome};
use warden_dist_bank::cluster::Cluster;

const ACCOUNTS: i64 = 8;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if args.first().map(String::as_str) == Some("worker") {
        rt.block_on(worker(
            &args[1],
            args[2].parse().expect("seed"),
            args[3].parse().expect("n"),
        ));
        return ExitCode::SUCCESS;
    }
    let processes: u64 = args.first().map_or(4, |a| a.parse().expect("PROCESSES"));
    let transfers: u64 = args.get(1).map_or(500, |a| a.parse().expect("TRANSFERS"));
    match rt.block_on(coordinate(processes, transfers)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("dist_bank: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn coordinate(processes: u64, transfers: u64) -> Result<bool, String> {
    let cluster = Cluster::start()?;
    let admin = connect(&cluster.url("postgres")).await?;
    // Two statements: CREATE DATABASE cannot run in the implicit
    // transaction of a multi-statement query.
    for sql in [
        "DROP DATABASE IF EXISTS dist_bank WITH (FORCE)",
        "CREATE DATABASE dist_bank",
    ] {
        admin
            .batch_execute(sql)
            .await
            .map_err(|e| warden::dist::Error::from(e).to_string())?;
    }
    let url = cluster.url("dist_bank");
    let db = connect(&url).await?;
    bank::setup(&db, ACCOUNTS)
        .await
        .map_err(|e| e.to_string())?;
    println!("{ACCOUNTS} accounts of {INITIAL}; {processes} processes start");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let children: Vec<_> = (0..processes)
        .map(|i| {
            Command::new(&exe)
                .args(["worker", &url, &(i + 1).to_string(), &transfers.to_string()])
                .spawn()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    for mut child in children {
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("a worker failed: {status}"));
        }
    }
    let total = bank::total(&db).await.map_err(|e| e.to_string())?;
    let expected = ACCOUNTS * INITIAL;
    println!(
        "{processes} processes x {transfers} transfers: total {total} (expected {expected}) {}",
        if total == expected { "ok" } else { "WRONG" }
    );
    Ok(total == expected)
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tokio::spawn(conn);
    Ok(client)
}

async fn worker(url: &str, seed: u64, transfers: u64) {
    let session = Session::connect(url, Options::default())
        .await
        .expect("connect");
    let mut db = connect(url).await.expect("storage");
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        i64::try_from(x % n).expect("small")
    };
    let (mut done, mut fenced) = (0, 0);
    for _ in 0..transfers {
        let from = next(8);
        let to = (from + 1 + next(7)) % ACCOUNTS;
        match bank::transfer(&session, &mut db, from, to, next(50) + 1).await {
            Ok(Outcome::Done) => done += 1,
            Ok(Outcome::Fenced) => fenced += 1,
            Ok(Outcome::Insufficient) => {}
            Err(e) => eprintln!("worker {seed}: {e}"),
        }
    }
    println!("worker {seed}: {done} transfers, {fenced} refused by a fence");
}
