//! Generic structs: each data struct has exactly the struct's generic
//! parameters, bounds and where-clause, so its name is predictable
//! (`PairLock<A, B>` for `Pair<A, B>`); a parameter its fields do not use
//! sits in a zero-sized `PhantomData<fn() -> B>`.

use std::collections::BTreeMap;
use std::fmt::Display;
use warden::{Lock, guarded};

#[guarded]
pub struct Cache<K: Ord, V>
where
    V: Clone,
{
    lock: Lock,
    #[guarded(lock)]
    map: BTreeMap<K, V>,
    #[guarded(lock)]
    hits: u64,
    capacity: usize,
}

impl<K: Ord, V: Clone> Cache<K, V> {
    async fn get(&self, key: &K) -> Option<V> {
        let mut g = self.lock.acquire().await;
        let value = g.map.get(key).cloned();
        if value.is_some() {
            g.hits += 1;
        }
        value
    }

    async fn insert(&self, key: K, value: V) -> bool {
        let mut g = self.lock.acquire().await;
        if g.map.len() >= self.capacity {
            return false;
        }
        g.map.insert(key, value);
        true
    }
}

// Only `A` is guarded: `PairLock<A, B>` still takes `B` (and its bound),
// marked as unused.
#[guarded]
pub struct Pair<A, B: Display> {
    lock: Lock,
    #[guarded(lock)]
    first: A,
    second: B,
}

// A const parameter and a default.
#[guarded]
pub struct Ring<T = u8, const N: usize = 4> {
    lock: Lock,
    #[guarded(lock)]
    slots: [Option<T>; N],
}

// A parameter named like a type in a path (`std::io::Error`) is not taken
// for a use of it: `LastLock<Error>` marks `Error` unused (it was error
// E0392 in generated code when parameters were picked by their names).
#[guarded]
pub struct Last<Error> {
    lock: Lock,
    #[guarded(lock)]
    last: Option<std::io::Error>,
    error: Error,
}

// A bound that mentions another parameter stays on the data struct.
#[guarded]
pub struct Convert<T, U>
where
    U: From<T>,
{
    lock: Lock,
    #[guarded(lock)]
    out: Option<U>,
    input: T,
}

impl<T: Clone, U: From<T>> Convert<T, U> {
    async fn run(&self) {
        self.lock.acquire().await.out = Some(U::from(self.input.clone()));
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let cache: Cache<&str, String> = Cache::new(CacheInit {
            lock: Lock::new(()),
            map: BTreeMap::new(),
            hits: 0,
            capacity: 1,
        });
        assert!(cache.insert("a", "x".to_owned()).await);
        assert!(!cache.insert("b", "y".to_owned()).await);
        assert_eq!(cache.get(&"a").await.as_deref(), Some("x"));
        assert_eq!(cache.lock.acquire().await.hits, 1);

        let pair = Pair::new(PairInit {
            lock: Lock::new(()),
            first: vec![1u8],
            second: "two",
        });
        let data: PairLock<Vec<u8>, &str> = pair.lock.into_inner();
        assert_eq!((data.first, pair.second), (vec![1], "two"));

        // The marker is zero-sized: the data struct is its fields' size.
        assert_eq!(
            std::mem::size_of::<PairLock<Vec<u8>, &str>>(),
            std::mem::size_of::<Vec<u8>>()
        );

        let last = Last::new(LastInit {
            lock: Lock::new(()),
            last: None,
            error: "e",
        });
        let data: LastLock<&str> = last.lock.into_inner();
        assert!(data.last.is_none());

        let convert = Convert::new(ConvertInit {
            lock: Lock::new(()),
            out: None,
            input: 7_u8,
        });
        convert.run().await;
        let data: ConvertLock<u8, u32> = convert.lock.into_inner();
        assert_eq!(data.out, Some(7));

        let ring: Ring = Ring::new(RingInit {
            lock: Lock::new(()),
            slots: [None; 4],
        });
        ring.lock.acquire().await.slots[0] = Some(9);
        let data: RingLock<u8, 4> = ring.lock.into_inner();
        assert_eq!(data.slots, [Some(9), None, None, None]);
    });
}
