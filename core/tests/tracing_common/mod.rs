//! Shared by the `tracing_*` tests: a subscriber whose output is kept in
//! memory, installed for the current thread (every test runs its runtime on
//! one thread, so the tasks it spawns log there too).

#![allow(dead_code, reason = "each test file uses some of these")]

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::Level;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

/// What the subscriber wrote.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The lines that contain every one of `parts`.
    pub fn lines_with(&self, parts: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// The fmt layer at `level`, for this thread, until the guard drops.
pub fn fmt(level: Level) -> (DefaultGuard, Captured) {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(out.clone())
        .without_time()
        .finish();
    (tracing::subscriber::set_default(subscriber), out)
}

/// The JSON layer at `level`, for this thread, until the guard drops.
pub fn json(level: Level) -> (DefaultGuard, Captured) {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_writer(out.clone())
        .without_time()
        .finish();
    (tracing::subscriber::set_default(subscriber), out)
}

/// `file.rs:line` of a line in the calling test file.
pub fn at(file: &str, line: u32) -> String {
    format!("{file}:{line}:")
}
