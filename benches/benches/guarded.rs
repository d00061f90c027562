//! `#[guarded]` costs nothing: the same transfer through a `#[guarded]`
//! struct and through the hand-written `Lock<Inner>` it expands to.
//!
//! `guarded_access`: acquire (polled once, no runtime), move money between
//! two accounts, bump the count, release. The `ratios` report prints
//! `guarded / hand-written`; the target is 1.00 ± noise.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use warden::{Lock, guarded};
use warden_benches::poll_ready;

#[guarded]
struct GuardedBank {
    lock: Lock,
    #[guarded(lock)]
    accounts: Vec<i64>,
    #[guarded(lock)]
    transfers: u64,
}

struct Inner {
    accounts: Vec<i64>,
    transfers: u64,
}

struct HandWrittenBank {
    lock: Lock<Inner>,
}

fn guarded_access(c: &mut Criterion) {
    let mut g = c.benchmark_group("guarded_access");
    let guarded = GuardedBank::new(GuardedBankInit {
        lock: Lock::default(),
        accounts: vec![1_000; 8],
        transfers: 0,
    });
    g.bench_function("guarded", |b| {
        b.iter(|| {
            let mut bank = poll_ready(black_box(&guarded).lock.acquire());
            bank.accounts[1] -= 1;
            bank.accounts[2] += 1;
            bank.transfers += 1;
        });
    });
    let hand = HandWrittenBank {
        lock: Lock::new(Inner {
            accounts: vec![1_000; 8],
            transfers: 0,
        }),
    };
    g.bench_function("hand-written", |b| {
        b.iter(|| {
            let mut bank = poll_ready(black_box(&hand).lock.acquire());
            bank.accounts[1] -= 1;
            bank.accounts[2] += 1;
            bank.transfers += 1;
        });
    });
    g.finish();
    assert_eq!(
        std::mem::size_of::<GuardedBank>(),
        std::mem::size_of::<HandWrittenBank>()
    );
}

criterion_group!(benches, guarded_access);
criterion_main!(benches);
