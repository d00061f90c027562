// Python: `lock.release()` on a lock nobody acquired raises RuntimeError.
// warden has no `release`: a lock is released by dropping the guard that
// `acquire` returned, so a release without an acquire cannot be written.
use warden::Lock;

fn main() {
    let lock = Lock::new(());
    lock.release();
}
