// And the guard of a plain `Lock<T>`, here with the blocking twin.
use warden::{Condition, Lock, guarded};

#[guarded]
pub struct Shop {
    lock: Lock,
    #[guarded(lock)]
    stock: u32,
    #[condition(lock)]
    restocked: Condition,
}

fn wait_for_stock(shop: &Shop, count: &Lock<u32>) {
    let _count = shop.restocked.wait_blocking(count.acquire_blocking());
}

fn main() {}
