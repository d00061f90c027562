//! Prints warden's benchmark ratios from criterion's saved estimates.
//!
//! ```text
//! cargo run -p warden-benches --bin ratios [-- [--dir DIR] [BASELINE ...]]
//! ```
//!
//! `DIR` defaults to `$CARGO_TARGET_DIR/criterion` (else
//! `target/criterion`); `BASELINE` defaults to `new`, the last run. Give
//! several baselines (saved with criterion's `--save-baseline NAME`) to get
//! the median ratio over repeated runs.

use std::path::PathBuf;
use std::process::ExitCode;

use warden_benches::report;

fn main() -> ExitCode {
    let mut dir = None;
    let mut baselines = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!("usage: ratios [--dir CRITERION_DIR] [BASELINE ...]");
                return ExitCode::SUCCESS;
            }
            _ => baselines.push(arg),
        }
    }
    let dir = dir.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
            .join("criterion")
    });
    if baselines.is_empty() {
        baselines.push("new".to_owned());
    }
    let mut runs = Vec::new();
    for baseline in &baselines {
        match report::load(&dir, baseline) {
            Ok(found) if found.is_empty() => {
                eprintln!(
                    "ratios: no results for baseline `{baseline}` under {}",
                    dir.display()
                );
                return ExitCode::FAILURE;
            }
            Ok(found) => runs.push(found),
            Err(e) => {
                eprintln!("ratios: reading {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let runs = report::collect(&runs);
    print!("{}", report::table(&runs, baselines.len()));
    println!();
    print!("{}", report::targets(&runs));
    ExitCode::SUCCESS
}
