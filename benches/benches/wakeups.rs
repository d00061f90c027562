//! Wake-up paths: `Event` ping-pong, `Barrier` generations, `Condition`
//! ping-pong.
//!
//! Each group runs on the 2-worker multi-thread runtime (wake-ups cross
//! threads, as in production) and again, as `*_ct`, on a current-thread
//! runtime, where no thread parks and only the primitives' own costs and
//! the scheduler remain.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use warden_benches::barrier::{self, Rendezvous};
use warden_benches::condition;
use warden_benches::signal::{self, Signal};
use warden_benches::{current_thread, multi_thread};

fn one_signal<S: Signal>(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime) {
    let (there, back) = (Arc::new(S::new()), Arc::new(S::new()));
    g.bench_function(S::NAME, |b| {
        b.iter(|| signal::pingpong_round(rt, &there, &back));
    });
}

fn one_barrier<B: Rendezvous>(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime) {
    let bar = Arc::new(B::with_parties(barrier::PARTIES));
    g.bench_function(B::NAME, |b| b.iter(|| barrier::round(rt, &bar)));
}

fn runtimes() -> [(&'static str, Runtime); 2] {
    [("", multi_thread()), ("_ct", current_thread())]
}

fn event_pingpong(c: &mut Criterion) {
    for (suffix, rt) in runtimes() {
        let mut g = c.benchmark_group(format!("event_pingpong{suffix}"));
        g.sample_size(20)
            .throughput(Throughput::Elements(signal::ROUND_TRIPS as u64));
        one_signal::<warden::Event>(&mut g, &rt);
        one_signal::<tokio::sync::Notify>(&mut g, &rt);
        one_signal::<futures_intrusive::sync::ManualResetEvent>(&mut g, &rt);
        g.finish();
    }
}

fn barrier(c: &mut Criterion) {
    for (suffix, rt) in runtimes() {
        let mut g = c.benchmark_group(format!("barrier{suffix}"));
        g.sample_size(20)
            .throughput(Throughput::Elements(barrier::GENERATIONS as u64));
        one_barrier::<warden::Barrier>(&mut g, &rt);
        one_barrier::<tokio::sync::Barrier>(&mut g, &rt);
        one_barrier::<async_lock::Barrier>(&mut g, &rt);
        one_barrier::<saa::Barrier>(&mut g, &rt);
        g.finish();
    }
}

fn condition_pingpong(c: &mut Criterion) {
    for (suffix, rt) in runtimes() {
        let mut g = c.benchmark_group(format!("condition_pingpong{suffix}"));
        g.sample_size(20)
            .throughput(Throughput::Elements(condition::ITEMS));
        let q = Arc::new(condition::WardenQueue::default());
        g.bench_function("warden", |b| b.iter(|| condition::warden_round(&rt, &q)));
        let q = Arc::new(condition::TokioQueue::default());
        g.bench_function("tokio", |b| b.iter(|| condition::tokio_round(&rt, &q)));
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = event_pingpong, barrier, condition_pingpong
}
criterion_main!(benches);
