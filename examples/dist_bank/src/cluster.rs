//! A private PostgreSQL cluster: `initdb` + `pg_ctl` from the
//! distribution's binaries (`/usr/lib/postgresql/*/bin`, or
//! `WARDEN_PG_BIN`), as the `postgres` user through `runuser` when run as
//! root, in a temporary folder, on a free loopback port, `fsync=off`;
//! stopped and deleted when the [`Cluster`] is dropped. One process may
//! start several (each in a folder of its own): the tests of
//! `warden-bank-server`'s replicated mode start one per test.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Numbers the clusters this process starts, for their folders' names.
static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A server to use: the one `WARDEN_PG_URL` names, or a private cluster.
#[derive(Debug)]
pub struct Cluster {
    base: String,
    private: Option<(PathBuf, PathBuf)>,
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("WARDEN_PG_BIN") {
        return Ok(PathBuf::from(dir));
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
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): install them \
         (`apt-get install -y --no-install-recommends postgresql`), set WARDEN_PG_BIN, or \
         set WARDEN_PG_URL to a running server"
            .to_owned()
    })
}

fn as_postgres(bin: &std::path::Path, program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

impl Cluster {
    /// `WARDEN_PG_URL` if set, else a private cluster.
    ///
    /// # Errors
    ///
    /// If the binaries are missing or the cluster does not start.
    pub fn start() -> Result<Cluster, String> {
        if let Ok(url) = std::env::var("WARDEN_PG_URL")
            && !url.is_empty()
        {
            return Ok(Cluster {
                base: url,
                private: None,
            });
        }
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!(
            "warden-dist-bank-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if is_root() {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let data = dir.join("data");
        run(as_postgres(&bin, "initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--locale=C",
        ]))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let opts = format!(
            "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c max_connections=200",
            dir.display()
        );
        run(as_postgres(&bin, "pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-w", "-o", &opts, "-l"])
            .arg(dir.join("log"))
            .arg("start")
            .stdin(Stdio::null()))?;
        Ok(Cluster {
            base: format!("host=127.0.0.1 port={port} user=postgres"),
            private: Some((bin, dir)),
        })
    }

    /// The URL of database `dbname`.
    pub fn url(&self, dbname: &str) -> String {
        format!("{} dbname={dbname}", self.base)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some((bin, dir)) = &self.private {
            let _ = as_postgres(bin, "pg_ctl")
                .arg("-D")
                .arg(dir.join("data"))
                .args(["-m", "immediate", "stop"])
                .output();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
