// A spawned task may outlive the function that spawned it, so it may not
// borrow that function's locals (`'static`). Python would keep `hits`
// alive for as long as the thread refers to it; Rust asks you to say who
// owns it: `move` it into the task, or share it with an `Arc`.
use warden::Lock;

async fn count() {
    let hits = Lock::new(0);
    tokio::spawn(async {
        *hits.acquire().await += 1;
    });
}

fn main() {}
