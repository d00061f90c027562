//! Measures `warden::dist` against in-process warden: the latency of one
//! operation, and the handover of a lock whose holder was `SIGKILL`ed.
//!
//! ```text
//! cargo run --release -p warden-dist-bank --features postgres --bin dist_bench
//! ```
//!
//! Starts a private PostgreSQL cluster (or uses `WARDEN_PG_URL`). A
//! measurement, not a test: nothing here passes or fails on time.

#![allow(clippy::doc_markdown)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden::dist::{Options, Session};
use warden_dist_bank::cluster::Cluster;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if args.first().map(String::as_str) == Some("hold") {
        rt.block_on(hold(&args[1]));
        return;
    }
    rt.block_on(measure());
}

/// Holds lock `h` until killed.
async fn hold(url: &str) {
    let session = Session::connect(url, Options::default())
        .await
        .expect("connect");
    let _guard = session.lock("h").acquire().await.expect("acquire");
    println!("HELD");
    std::future::pending::<()>().await;
}

/// Median, 90th percentile and max of `samples`, in microseconds.
fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    // Percentile `q` of 100.
    let at = |q: usize| samples[(samples.len() - 1) * q / 100].as_secs_f64() * 1e6;
    format!(
        "median {:>10.3} us   p90 {:>10.3} us   max {:>10.3} us   (n = {})",
        at(50),
        at(90),
        at(100),
        samples.len()
    )
}

async fn time<F, Fut>(n: usize, mut op: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        op().await;
        samples.push(t.elapsed());
    }
    samples
}

#[allow(clippy::too_many_lines)]
async fn measure() {
    let cluster = Cluster::start().expect("a PostgreSQL server");
    let (admin, conn) = tokio_postgres::connect(&cluster.url("postgres"), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    for sql in [
        "DROP DATABASE IF EXISTS dist_bench WITH (FORCE)",
        "CREATE DATABASE dist_bench",
    ] {
        admin.batch_execute(sql).await.expect("database");
    }
    let url = cluster.url("dist_bench");
    let session = Session::connect(&url, Options::default())
        .await
        .expect("connect");

    println!("per-operation latency, uncontended (one task, loopback server):");
    let local = warden::Lock::new(());
    let s = time(100_000, || async {
        drop(local.acquire().await);
    })
    .await;
    println!("  in-process Lock acquire+release      {}", summary(s));
    let lock = session.lock("op");
    // Warm the idle pool.
    drop(lock.acquire().await.expect("acquire"));
    let s = time(2_000, || async {
        lock.acquire()
            .await
            .expect("acquire")
            .release()
            .await
            .expect("release");
    })
    .await;
    println!("  dist::Lock acquire+release            {}", summary(s));
    let s = time(2_000, || async {
        let g = lock.try_acquire().await.expect("try").expect("free");
        g.release().await.expect("release");
    })
    .await;
    println!("  dist::Lock try_acquire+release        {}", summary(s));
    let sem = session.semaphore("op", 4);
    let s = time(1_000, || async {
        sem.acquire()
            .await
            .expect("acquire")
            .release()
            .await
            .expect("release");
    })
    .await;
    println!("  dist::Semaphore acquire+release       {}", summary(s));
    let ev = session.event("op");
    let s = time(2_000, || async { ev.set().await.expect("set") }).await;
    println!("  dist::Event set (already set)         {}", summary(s));
    let s = time(2_000, || async { ev.wait().await.expect("wait") }).await;
    println!("  dist::Event wait (already set)        {}", summary(s));

    println!("handover to a waiting process:");
    let mut released = Vec::new();
    let other = Session::connect(&url, Options::default())
        .await
        .expect("connect");
    for _ in 0..50 {
        let g = lock.acquire().await.expect("acquire");
        let waiter = {
            let l = other.lock("op");
            tokio::spawn(async move {
                let g = l.acquire().await.expect("acquire");
                let t = Instant::now();
                g.release().await.expect("release");
                t
            })
        };
        wait_for_waiter(&admin).await;
        let t0 = Instant::now();
        g.release().await.expect("release");
        let got = waiter.await.expect("waiter");
        released.push(got - t0);
    }
    println!(
        "  after release()                      {}",
        summary(released)
    );
    let mut crashed = Vec::new();
    let exe = std::env::current_exe().expect("exe");
    for _ in 0..20 {
        let mut child = Command::new(&exe)
            .args(["hold", &url])
            .stdout(Stdio::piped())
            .spawn()
            .expect("holder");
        let mut out = child.stdout.take().expect("stdout");
        tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buf = [0_u8; 5];
            out.read_exact(&mut buf).expect("HELD");
        })
        .await
        .expect("reader");
        let waiter = {
            let l = other.lock("h");
            tokio::spawn(async move {
                let g = l.acquire().await.expect("acquire");
                let t = Instant::now();
                g.release().await.expect("release");
                t
            })
        };
        wait_for_waiter(&admin).await;
        let t0 = Instant::now();
        child.kill().expect("SIGKILL");
        let got = waiter.await.expect("waiter");
        crashed.push(got - t0);
        let _ = child.wait();
    }
    println!(
        "  after the holder's SIGKILL           {}",
        summary(crashed)
    );
}

/// Waits until a lock request waits on the server (so the handover is
/// measured from a queued waiter).
async fn wait_for_waiter(admin: &tokio_postgres::Client) {
    loop {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                &[],
            )
            .await
            .expect("pg_locks")
            .get(0);
        if n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
