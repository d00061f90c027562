//! `new = name` and `new = none`: the struct keeps the name `new` for the
//! user's own constructor. `From<Init>` is generated either way.

use warden::{Lock, guarded};

#[guarded(new = create)]
pub struct Counter {
    lock: Lock,
    #[guarded(lock)]
    count: u64,
    label: &'static str,
}

impl Counter {
    /// The user's own `new`, built on the generated `create`.
    pub fn new(label: &'static str) -> Counter {
        Counter::create(CounterInit {
            lock: Lock::new(()),
            count: 0,
            label,
        })
    }
}

#[guarded(new = none)]
pub struct Gauge {
    lock: Lock,
    #[guarded(lock)]
    value: i64,
}

impl Gauge {
    /// No generated constructor: `From<GaugeInit>` builds it.
    pub fn new(value: i64) -> Gauge {
        Gauge::from(GaugeInit {
            lock: Lock::new(()),
            value,
        })
    }
}

// The generated constructor is `const`, whatever its name.
static COUNTER: Counter = Counter::create(CounterInit {
    lock: Lock::new(()),
    count: 7,
    label: "static",
});

fn main() {
    let counter = Counter::new("requests");
    counter.lock.try_acquire().unwrap().count += 1;
    assert_eq!(counter.lock.into_inner().count, 1);
    assert_eq!(counter.label, "requests");
    assert_eq!(Gauge::new(-3).lock.into_inner().value, -3);
    assert_eq!((COUNTER.lock.try_acquire().unwrap().count, COUNTER.label), (7, "static"));
}
