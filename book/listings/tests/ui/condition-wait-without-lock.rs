// Python: `cond.wait()` without holding the lock raises RuntimeError.
// warden's `wait` takes the lock's guard -- the proof that you hold it --
// so passing the lock itself does not compile.
use warden::{Condition, Lock};

async fn wait_for_item(items: &Lock<Vec<u32>>, not_empty: &Condition) {
    let _items = not_empty.wait(items).await;
}

fn main() {}
