//! The harness of the `dist_*` tests (feature `postgres`).
//!
//! * [`Cluster`]: the PostgreSQL server. With `WARDEN_PG_URL` set, that
//!   server (a superuser URL; each test creates its own database on it).
//!   Unset, a private cluster: `initdb` + `pg_ctl` from the distribution's
//!   binaries (`/usr/lib/postgresql/*/bin`, or `WARDEN_PG_BIN`), run as the
//!   `postgres` user through `runuser` when we are root, in a temporary
//!   folder, on a free loopback port, with `fsync=off`. A small watcher
//!   process stops it and deletes the folder when the test process ends,
//!   however it ends. No binaries: the test fails and says what to install.
//! * [`Worker`]: the test binary re-run as a separate OS process
//!   (`WARDEN_DIST_WORKER=<role>`), talking in `@@ `-prefixed lines on
//!   stdout and plain lines on stdin; it can be `SIGKILL`ed, `SIGSTOP`ped
//!   and `SIGCONT`ed.
//! * [`until`]: waits for a condition, never for a duration; its deadline
//!   only turns a hang into a readable failure.

#![allow(dead_code, clippy::doc_markdown)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a condition may take before the test is declared hung.
pub const HANG: Duration = Duration::from_secs(90);

/// A PostgreSQL server for the tests.
pub struct Cluster {
    /// `host=... port=... user=...` (no dbname).
    base: String,
    /// The private cluster's data folder and binaries, if it is ours.
    private: Option<Private>,
}

struct Private {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

static SHARED: OnceLock<Cluster> = OnceLock::new();
static SEQ: AtomicUsize = AtomicUsize::new(0);

/// The cluster shared by the tests of this binary.
pub fn cluster() -> &'static Cluster {
    SHARED.get_or_init(|| match std::env::var("WARDEN_PG_URL") {
        Ok(url) if !url.is_empty() => Cluster {
            base: url,
            private: None,
        },
        _ => Cluster::start_private(),
    })
}

fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("WARDEN_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "the `postgres` feature's tests need PostgreSQL (14 or newer) server binaries: \
             no /usr/lib/postgresql/*/bin/initdb found. Install them \
             (`apt-get install -y --no-install-recommends postgresql`), or point \
             WARDEN_PG_BIN at a folder holding initdb and pg_ctl, or set WARDEN_PG_URL \
             to a superuser URL of a running server."
        ),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Private {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = self.command("pg_ctl");
        c.arg("-D").arg(&self.data).args(args);
        c
    }

    fn start(&self) {
        let opts = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c full_page_writes=off -c max_connections=400 \
             -c shared_buffers=64MB -c log_min_messages=fatal",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        run(self
            .pg_ctl(&["-w", "-t", "60", "-o", &opts, "-l"])
            .arg(&log)
            .arg("start")
            .stdin(Stdio::null()));
    }
}

impl Cluster {
    /// A cluster of our own (also when `WARDEN_PG_URL` is set): for the
    /// tests that restart the server.
    pub fn start_private() -> Cluster {
        let bin = pg_bin();
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!(
            "warden-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        if as_postgres {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir));
        }
        let private = Private {
            data: dir.join("data"),
            port: free_port(),
            bin,
            dir,
            as_postgres,
        };
        let mut initdb = private.command("initdb");
        initdb.arg("-D").arg(&private.data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        ]);
        run(&mut initdb);
        private.start();
        // Stop the cluster and delete its folder when this process ends,
        // however it ends (a panic, a SIGKILL of the test binary).
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = shell_words(&private.pg_ctl(&["stop", "-m", "immediate"])),
            dir = private.dir.display(),
        );
        // Not waited for: it outlives this process on purpose.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the cluster's watcher");
        Cluster {
            base: format!("host=127.0.0.1 port={} user=postgres", private.port),
            private: Some(private),
        }
    }

    /// Creates a fresh database and returns its URL.
    pub fn database(&self, name: &str) -> String {
        let name = format!(
            "t_{}",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        let admin = format!("{} dbname=postgres", self.base);
        block_on(async {
            let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .expect("connect to the test cluster");
            tokio::spawn(conn);
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("drop database");
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
        });
        format!("{} dbname={name}", self.base)
    }

    /// `pg_ctl restart -m immediate`: every session ends without notice, as
    /// in a crash; tables survive.
    pub fn restart_immediate(&self) {
        let p = self
            .private
            .as_ref()
            .expect("only a private cluster can be restarted");
        run(p
            .pg_ctl(&["-w", "-m", "immediate", "stop"])
            .stdin(Stdio::null()));
        p.start();
    }

    /// `pg_ctl stop -m immediate`.
    pub fn stop_immediate(&self) {
        let p = self
            .private
            .as_ref()
            .expect("only a private cluster can be stopped");
        run(p
            .pg_ctl(&["-w", "-m", "immediate", "stop"])
            .stdin(Stdio::null()));
    }

    /// Starts a stopped private cluster again.
    pub fn start(&self) {
        self.private.as_ref().expect("private cluster").start();
    }

    /// The port of a private cluster.
    pub fn port(&self) -> u16 {
        self.private.as_ref().expect("private cluster").port
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(p) = &self.private {
            let _ = p.pg_ctl(&["-m", "immediate", "stop"]).output();
            let _ = std::fs::remove_dir_all(&p.dir);
        }
    }
}

fn shell_words(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a future to completion on a throwaway runtime (for set-up code
/// called outside the test's runtime).
pub fn block_on<F>(f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f)
        })
        .join()
        .expect("set-up thread")
    })
}

/// A plain driver connection (for checks and for storage the tests write
/// with fence tokens).
pub async fn client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Waits until `check` returns true; panics with `what` after [`HANG`].
pub async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < HANG, "hung: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Advisory locks held (granted) in the database of `client`.
pub async fn advisory_locks(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .expect("pg_locks")
        .get(0)
}

/// Advisory lock requests waiting (not granted) in the database.
pub async fn advisory_waiters(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .expect("pg_locks")
        .get(0)
}

// ---- worker processes ----

/// The role this process plays, if it is a worker.
pub fn worker_role() -> Option<String> {
    std::env::var("WARDEN_DIST_WORKER").ok()
}

/// A worker's parameter (set by [`Worker::start`]).
pub fn param(name: &str) -> String {
    std::env::var(format!("WARDEN_DIST_{name}"))
        .unwrap_or_else(|_| panic!("worker parameter {name} missing"))
}

/// Says a line to the test (worker side).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n@@ {line}").expect("stdout");
    out.flush().expect("stdout");
}

/// Reads a line from the test (worker side).
pub async fn hear() -> String {
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).expect("stdin");
        line.trim().to_owned()
    })
    .await
    .expect("stdin reader")
}

/// A worker process.
pub struct Worker {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<String>>,
}

impl Worker {
    /// Starts this test binary as a worker playing `role`, running the
    /// `#[test]` named `entry`, with `params` as `WARDEN_DIST_<NAME>`.
    pub fn start(entry: &str, name: &str, role: &str, params: &[(&str, String)]) -> Worker {
        let exe = std::env::current_exe().expect("test binary");
        let mut cmd = Command::new(exe);
        cmd.args([entry, "--exact", "--nocapture", "--test-threads=1"])
            .env("WARDEN_DIST_WORKER", role)
            .env("WARDEN_DIST_NAME", name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in params {
            cmd.env(format!("WARDEN_DIST_{k}"), v);
        }
        let mut child = cmd.spawn().expect("spawn worker");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest may have printed "test worker ... " on the line.
                if let Some(at) = line.find("@@ ")
                    && tx.send(line[at + 3..].to_owned()).is_err()
                {
                    break;
                }
            }
        });
        Worker {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines: tokio::sync::Mutex::new(rx),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line from the worker; panics after [`HANG`].
    pub async fn line(&self) -> String {
        let mut lines = self.lines.lock().await;
        match tokio::time::timeout(HANG, lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("worker {} ended its output", self.name),
            Err(tokio::time::error::Elapsed { .. }) => {
                panic!("hung: no line from worker {}", self.name)
            }
        }
    }

    /// A line the worker has already said, if any (does not wait).
    pub async fn try_line(&self) -> Option<String> {
        self.lines.lock().await.try_recv().ok()
    }

    /// The next line, which must start with `prefix`; returns the rest.
    pub async fn expect(&self, prefix: &str) -> String {
        let line = self.line().await;
        match line.strip_prefix(prefix) {
            Some(rest) => rest.trim().to_owned(),
            None => panic!("worker {} said {line:?}, expected {prefix:?}", self.name),
        }
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write to worker");
        stdin.flush().expect("flush");
    }

    fn signal(&self, sig: &str) {
        run(Command::new("kill").args(["-s", sig, &self.pid().to_string()]));
    }

    pub fn kill(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    pub fn stop(&self) {
        self.signal("STOP");
    }

    pub fn cont(&self) {
        self.signal("CONT");
    }

    /// Waits for the worker to exit; panics if it failed or hung.
    pub fn finish(mut self) {
        self.stdin.take();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "worker {} failed: {status}", self.name);
                return;
            }
            assert!(
                start.elapsed() < HANG,
                "hung: worker {} did not exit",
                self.name
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A seeded xorshift generator (reproducible choices).
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Reads `WARDEN_DIST_<name>` as a number, or `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(format!("WARDEN_DIST_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Parses `k=v k=v` into a map (worker reports).
pub fn fields(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
