//! Runs the examples: the bank as 4 processes x 300 transfers (the total
//! must hold), the lost guard, and the book's Python twin.

use std::process::Command;

#[test]
fn bank_across_processes_keeps_its_total() {
    let out = Command::new(env!("CARGO_BIN_EXE_dist_bank"))
        .args(["4", "300"])
        .output()
        .expect("run dist_bank");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dist_bank failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("4 processes x 300 transfers: total 8000 (expected 8000) ok"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("transfers, ").count(), 4, "{stdout}");
}

#[test]
fn lost_guard_stops_before_writing() {
    let out = Command::new(env!("CARGO_BIN_EXE_dist_lost"))
        .output()
        .expect("run dist_lost");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("lock lost ("), "{stdout}");
    assert!(stdout.contains("): stopped before writing"), "{stdout}");
}

#[test]
fn python_multiprocessing_bank_keeps_its_total() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/mp_bank.py");
    let out = Command::new("python3")
        .arg(script)
        .output()
        .expect("run python3 (the book's Python listing)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("total 8000"), "{stdout}");
}
