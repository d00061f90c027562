//! `#[cfg]` on fields: a field compiled out is gone from the struct, its
//! data struct, `Init` and `new`, whether it is guarded, a condition or a
//! lock. A lock's `#[cfg]` is repeated on each field it guards (else it
//! would remove them silently: `ui/guarded/cfg-on-lock-only.rs`).

use warden::{Lock, guarded};

#[guarded]
#[derive(Debug, Default)]
pub struct Config {
    lock: Lock,
    #[guarded(lock)]
    retries: u32,
    #[cfg(any())] // never compiled
    #[guarded(lock)]
    missing: NoSuchType,
    #[cfg(all())] // always compiled
    #[guarded(lock)]
    timeout_ms: u64,
    #[cfg(any())]
    gone: NoSuchType,
    #[cfg(any())]
    off_lock: Lock,
    #[cfg(any())]
    #[guarded(off_lock)]
    off_data: NoSuchType,
    #[cfg(any())]
    #[condition(off_lock)]
    off_changed: warden::Condition,
    #[cfg(all())]
    on_lock: Lock,
    #[cfg(all())]
    #[guarded(on_lock)]
    on_data: u8,
    #[cfg_attr(all(), allow(dead_code))]
    label: &'static str,
}

// `#[cfg]` on the struct itself applies to everything generated.
#[guarded]
#[cfg(any())]
pub struct Never {
    lock: Lock,
    #[guarded(lock)]
    data: NoSuchType,
}

#[guarded]
#[cfg(all())]
pub struct Always {
    lock: Lock,
    #[guarded(lock)]
    data: u8,
}

fn main() {
    assert_eq!(
        Always::new(AlwaysInit {
            lock: Lock::new(()),
            data: 1
        })
        .lock
        .into_inner()
        .data,
        1
    );
    let config = Config::new(ConfigInit {
        lock: Lock::new(()),
        retries: 3,
        timeout_ms: 250,
        on_lock: Lock::new(()),
        on_data: 9,
        label: "x",
    });
    assert_eq!(config.on_lock.try_acquire().unwrap().on_data, 9);
    let data: ConfigLock = config.lock.into_inner();
    assert_eq!((data.retries, data.timeout_ms), (3, 250));
    assert_eq!(Config::default().lock.into_inner().retries, 0);
}
