// `Rc` is a reference count that is not atomic: two threads updating it
// at once would corrupt it. So it is not `Send`, and a task that holds
// one cannot be spawned on the multi-thread runtime. `Arc` is the atomic,
// `Send` version.
use std::rc::Rc;

use warden::Lock;

fn main() {
    let hits = Rc::new(Lock::new(0));
    tokio::spawn(async move {
        *hits.acquire().await += 1;
    });
}
