// Python: a write after `lock.release()` is a silent race. In warden the
// release is `drop(guard)`, and the guard cannot be used after it.
use warden::Lock;

async fn push(items: &Lock<Vec<u32>>) {
    let mut guard = items.acquire().await;
    drop(guard); // lock.release()
    guard.push(1);
}

fn main() {}
