// Python: `Semaphore(-1)` raises ValueError. A permit count is a `usize`.
use warden::Semaphore;

fn main() {
    let _sem = Semaphore::new(-1);
}
