// Under an `RLock`, a plain field is written with `&mut self`, through
// `get_mut()` (no lock needed: `&mut` proves nobody holds it). With only
// `&self`, take the lock and read, or give the field interior mutability.
use warden::{RLock, guarded};

#[guarded]
pub struct Bank {
    pub audit: RLock,
    #[guarded(audit)]
    pub log: Vec<String>,
}

impl Bank {
    fn record(&self, line: String) {
        self.audit.get_mut().log.push(line);
    }
}

fn main() {}
