// Python: `lock.acquire(blocking=False, timeout=1)` raises ValueError.
// `try_acquire` never waits, so it has no timeout to give.
use std::time::Duration;
use warden::Lock;

fn main() {
    let lock = Lock::new(());
    let _guard = lock.try_acquire(Duration::from_secs(1));
}
