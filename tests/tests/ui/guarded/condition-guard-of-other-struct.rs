// The guard of another struct's lock is rejected too.
use warden::{Condition, Lock, guarded};

#[guarded]
pub struct Shop {
    lock: Lock,
    #[guarded(lock)]
    stock: u32,
    #[condition(lock)]
    restocked: Condition,
}

#[guarded]
pub struct Warehouse {
    lock: Lock,
    #[guarded(lock)]
    stock: u32,
}

async fn wait_for_stock(shop: &Shop, warehouse: &Warehouse) {
    let guard = warehouse.lock.acquire().await;
    let _guard = shop.restocked.wait_for(guard, |w| w.stock > 0).await;
}

fn main() {}
