//! The bank server's load, run against two servers that differ only in the
//! lock around the books: warden's `#[guarded]` [`Bank`] and a
//! `tokio::sync::Mutex<BankBooks>` ([`TokioBank`]). Same HTTP layer, same
//! semaphore and shutdown event, same rules, same seeded load; the rounds
//! alternate between the two, and the table shows each one's median round.
//!
//! Run (numbers mean something only in release):
//! `cargo run --release --example bank_server_tokio -- [ROUNDS] [TRANSFERS] [CLIENTS]`
//! (defaults 3, 50000, 64). Traffic stays on 127.0.0.1.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use tokio::net::TcpListener;

use bank_server::bank::{Bank, Store};
use bank_server::load::{self, Load, Report};
use bank_server::tokio_bank::TokioBank;
use bank_server::{App, Config, serve};

/// Starts a server over `bank` on an ephemeral loopback port, runs `load`
/// against it, shuts it down, and checks what it said about itself.
async fn round<S: Store>(bank: S, load: &Load) -> Result<Report, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = App::new(bank, Config::default());
    let server = tokio::spawn(serve(app.clone(), listener));
    let report = load::run(addr, load).await;
    app.shutdown.set();
    let summary = server
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let report = report?;
    if !report.problems.is_empty() {
        return Err(format!(
            "{} problems, first: {}",
            report.problems.len(),
            report.problems[0]
        ));
    }
    if report.succeeded + report.refused != report.sent
        || summary.audit.total != report.expected_total
        || summary.audit.transfers != report.server_transfers.1
        || summary.settlement.settled != summary.audit.transfers
    {
        return Err(format!("the books do not add up: {report} / {summary:?}"));
    }
    Ok(report)
}

fn median(mut rounds: Vec<Report>) -> Report {
    rounds.sort_by(|a, b| a.requests_per_sec().total_cmp(&b.requests_per_sec()));
    rounds.swap_remove(rounds.len() / 2)
}

fn arg(n: usize, default: usize) -> Result<usize, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(a) => a
            .parse()
            .map_err(|_| format!("argument {n} should be a whole number, not `{a}`")),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let parsed = (arg(1, 3), arg(2, 50_000), arg(3, 64));
    let (Ok(rounds), Ok(transfers), Ok(clients)) = parsed else {
        eprintln!("usage: bank_server_tokio [ROUNDS] [TRANSFERS] [CLIENTS]");
        return ExitCode::from(2);
    };
    let load = Load {
        clients,
        transfers,
        ..Load::default()
    };
    println!(
        "{transfers} transfers from {clients} clients, {rounds} round(s) each, alternating{}",
        if cfg!(debug_assertions) {
            " (debug build: try --release)"
        } else {
            ""
        }
    );
    let batch = Config::default().settle_batch;
    let (mut warden_rounds, mut tokio_rounds) = (Vec::new(), Vec::new());
    for r in 1..=rounds.max(1) {
        let seeded = Load {
            seed: load.seed ^ r as u64,
            ..load.clone()
        };
        for (name, result) in [
            ("warden", round(Bank::empty(batch), &seeded).await),
            ("tokio", round(TokioBank::empty(batch), &seeded).await),
        ] {
            match result {
                Ok(report) => {
                    println!("round {r} {name:>6}: {report}");
                    if name == "warden" {
                        warden_rounds.push(report);
                    } else {
                        tokio_rounds.push(report);
                    }
                }
                Err(e) => {
                    eprintln!("round {r} {name}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let (w, t) = (median(warden_rounds), median(tokio_rounds));
    println!();
    println!("| state                                 | requests/s | p50 (ms) | p99 (ms) |");
    println!("|---------------------------------------|-----------:|---------:|---------:|");
    for (name, r) in [
        ("warden `#[guarded]` `Lock<BankBooks>`", &w),
        ("`tokio::sync::Mutex<BankBooks>`", &t),
    ] {
        println!(
            "| {name:<37} | {:>10.0} | {:>8.2} | {:>8.2} |",
            r.requests_per_sec(),
            r.percentile(0.50).as_secs_f64() * 1e3,
            r.percentile(0.99).as_secs_f64() * 1e3
        );
    }
    println!(
        "\nwarden / tokio throughput: {:.3}",
        w.requests_per_sec() / t.requests_per_sec()
    );
    ExitCode::SUCCESS
}
