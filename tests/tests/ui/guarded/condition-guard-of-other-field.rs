// A `#[condition(lock)]` waits only with the guard of `lock`: the guard of
// the struct's other lock is a compile error at the argument (a plain
// `Condition` would panic at run time).
use warden::{Condition, Lock, guarded};

#[guarded]
pub struct Shop {
    lock: Lock,
    #[guarded(lock)]
    stock: u32,
    #[condition(lock)]
    restocked: Condition,
    orders_lock: Lock,
    #[guarded(orders_lock)]
    orders: Vec<u32>,
}

async fn wait_for_stock(shop: &Shop) {
    let orders = shop.orders_lock.acquire().await;
    let _orders = shop.restocked.wait(orders).await;
}

fn main() {}
