//! A blocking twin refused on a runtime thread, in a program built with
//! `panic = "abort"`: the first panic is the last thing it does, so that
//! panic must be warden's (naming the method, the caller's line and the
//! async call to use), not a probe's. Builds `examples/blocking_on_a_worker.rs`
//! in its own target directory with the abort strategy and runs it.

// Refusing on a runtime thread needs the `tokio` feature.
#![cfg(feature = "tokio")]

use std::path::Path;
use std::process::Command;

#[test]
fn under_panic_abort_the_only_message_is_wardens_at_the_callers_line() {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let example = Path::new(manifest).join("examples/blocking_on_a_worker.rs");
    let source = std::fs::read_to_string(&example).expect("the example's source");
    let line = source
        .lines()
        .position(|l| l.contains("// REFUSED HERE"))
        .expect("the marked line")
        + 1;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("panic-abort");
    let out = Command::new(cargo)
        .current_dir(manifest)
        .args(["run", "--quiet", "--offline", "-p", "warden-sync"])
        .args(["--example", "blocking_on_a_worker"])
        .args(["--config", "profile.dev.panic=\"abort\""])
        .arg("--target-dir")
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the program must abort:\n{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(6),
            "aborted (SIGABRT), as panic = \"abort\" does:\n{stderr}"
        );
    }
    let panics: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("panicked at"))
        .collect();
    assert_eq!(panics.len(), 1, "exactly one panic is printed:\n{stderr}");
    assert!(
        panics[0].contains(&format!("examples/blocking_on_a_worker.rs:{line}:")),
        "the panic is located at the caller's line {line}:\n{stderr}"
    );
    for expected in [
        "Lock::acquire_blocking was called at ",
        &format!("blocking_on_a_worker.rs:{line}:"),
        "`lock.acquire().await`",
        "spawn_blocking",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?}:\n{stderr}");
    }
    assert!(
        !stderr.contains("Cannot block the current thread"),
        "tokio's own panic must not appear:\n{stderr}"
    );
}
