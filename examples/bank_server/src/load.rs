//! A load generator for the bank server: many concurrent clients sending
//! random transfers (seeded xorshift) with `GET /audit` calls interleaved,
//! every audit checked against the conserved total. Used by the load test
//! (`tests/bank_server.rs`) and by the warden-vs-tokio comparison
//! (`bank_server_tokio.rs`). Talks HTTP to 127.0.0.1 only, through
//! hyper's client connection: one keep-alive connection per client.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

/// How long one request may take before the client gives up on it: long
/// enough for any loaded machine, short enough that a stalled server fails
/// a test instead of hanging it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_mins(1);

/// What to send.
#[derive(Debug, Clone)]
pub struct Load {
    /// Concurrent clients (tasks, each with its own requests in sequence).
    pub clients: usize,
    /// Transfers in all, spread over the clients.
    pub transfers: usize,
    /// Accounts opened for the run.
    pub accounts: usize,
    /// Opening balance of each.
    pub opening_balance: i64,
    /// Amounts are drawn from `1..=max_amount`; above the opening balance,
    /// some transfers are refused with 409.
    pub max_amount: u64,
    /// Each client sends a `GET /audit` after every `audit_every` transfers.
    pub audit_every: usize,
    /// Seed of the clients' xorshift generators.
    pub seed: u64,
}

impl Default for Load {
    fn default() -> Load {
        Load {
            clients: 64,
            transfers: 20_000,
            accounts: 32,
            opening_balance: 1_000,
            max_amount: 600,
            audit_every: 20,
            seed: 0x5EED_BA4C,
        }
    }
}

/// A tiny deterministic generator (xorshift64), one per client.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator; a zero seed is replaced (xorshift would stay at 0).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// What came back.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Clients that ran.
    pub clients: usize,
    /// Transfers sent.
    pub sent: usize,
    /// Answered 200.
    pub succeeded: usize,
    /// Answered 409 (insufficient funds).
    pub refused: usize,
    /// Audits sent (all expected to be 200 with the conserved total).
    pub audits: usize,
    /// Anything else: other statuses, transport errors, wrong audit totals.
    pub problems: Vec<String>,
    /// Money in the bank, which every audit must see.
    pub expected_total: i64,
    /// The server's count of successful transfers, before and after.
    pub server_transfers: (u64, u64),
    /// Wall time of the client phase.
    pub elapsed: Duration,
    /// Every request's latency, sorted.
    pub latencies: Vec<Duration>,
}

impl Report {
    /// Requests (transfers and audits) per second.
    pub fn requests_per_sec(&self) -> f64 {
        let requests = self.sent + self.audits;
        #[allow(clippy::cast_precision_loss)] // a rate, not an amount
        let requests = requests as f64;
        requests / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at or below which `q` (0..=1) of requests completed.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )] // an index into a non-empty list, clamped
        let i = ((self.latencies.len() as f64 * q).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[i - 1]
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} transfers ({} ok, {} refused with 409) + {} audits from {} clients in {:.2} s: \
             {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms",
            self.sent,
            self.succeeded,
            self.refused,
            self.audits,
            self.clients,
            self.elapsed.as_secs_f64(),
            self.requests_per_sec(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
        )
    }
}

/// One client's tally.
#[derive(Default)]
struct Tally {
    sent: usize,
    succeeded: usize,
    refused: usize,
    audits: usize,
    problems: Vec<String>,
    latencies: Vec<Duration>,
}

/// An answer: status, `Retry-After`, and the body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "{} with a body that is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A small HTTP/1.1 client: one keep-alive connection (hyper's client
/// connection), reopened if the server closed it. One per load client.
pub struct Client {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// A client of the server at `addr`; connects on first use.
    pub fn new(addr: SocketAddr) -> Client {
        Client { addr, sender: None }
    }

    /// Sends `method path` with `body` (sent as JSON, unchecked, so that
    /// malformed bodies can be sent too).
    pub async fn send(
        &mut self,
        method: &Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Answer, String> {
        self.send_with(method, path, &[], body).await
    }

    /// [`send`](Client::send) with extra headers (`Idempotency-Key`, say).
    pub async fn send_with(
        &mut self,
        method: &Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, String> {
        let what = format!("{method} {path}");
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            slot => {
                let stream = TcpStream::connect(self.addr)
                    .await
                    .map_err(|e| format!("{what}: connect: {e}"))?;
                stream
                    .set_nodelay(true)
                    .map_err(|e| format!("{what}: {e}"))?;
                let (sender, connection) = handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| format!("{what}: handshake: {e}"))?;
                tokio::spawn(connection);
                slot.insert(sender)
            }
        };
        sender.ready().await.map_err(|e| format!("{what}: {e}"))?;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.addr.to_string());
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("{what}: {e}"))?;
        // Bounded: a server that stalls fails the request, never hangs it.
        let response = tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(request))
            .await
            .map_err(|_| format!("{what}: no answer within {REQUEST_TIMEOUT:?}"))?
            .map_err(|e| format!("{what}: {e}"))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = tokio::time::timeout(REQUEST_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| format!("{what}: no body within {REQUEST_TIMEOUT:?}"))?
            .map_err(|e| format!("{what}: body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    /// `GET path`, answered with JSON.
    pub async fn get(&mut self, path: &str) -> Result<(u16, Value), String> {
        let answer = self.send(&Method::GET, path, None).await?;
        Ok((answer.status, answer.json()?))
    }

    /// `POST path` with a JSON body, answered with JSON.
    pub async fn post(&mut self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        let answer = self
            .send(&Method::POST, path, Some(body.to_string()))
            .await?;
        Ok((answer.status, answer.json()?))
    }
}

fn field(body: &Value, name: &str) -> Result<i64, String> {
    body[name]
        .as_i64()
        .ok_or_else(|| format!("no integer `{name}` in {body}"))
}

/// Runs `load` against the server at `addr` (on 127.0.0.1).
/// Fails only if the setup (opening accounts, the first audit) fails;
/// everything wrong during the run, and a final audit that fails (the
/// server may be gone: the shutdown tests stop it under load), is listed in
/// [`Report::problems`].
pub async fn run(addr: SocketAddr, load: &Load) -> Result<Report, String> {
    let mut client = Client::new(addr);
    let (_, before) = client.get("/audit").await?;
    let mut total = field(&before, "total")?;
    let accounts = load.accounts.max(2); // a transfer needs two
    let mut ids = Vec::with_capacity(accounts);
    for _ in 0..accounts {
        let (status, account) = client
            .post("/accounts", &json!({"balance": load.opening_balance}))
            .await?;
        if status != 201 {
            return Err(format!("POST /accounts answered {status}: {account}"));
        }
        ids.push(field(&account, "id")?);
        total += load.opening_balance;
    }
    let (_, opened) = client.get("/audit").await?;
    let transfers_before = u64::try_from(field(&opened, "transfers")?).unwrap_or_default();

    let clients = load.clients.max(1);
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let share = load.transfers / clients + usize::from(c < load.transfers % clients);
            let ids = ids.clone();
            let seed = load.seed ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let load = load.clone();
            tokio::spawn(async move {
                run_client(Client::new(addr), &ids, total, share, &load, seed).await
            })
        })
        .collect();
    let mut report = Report {
        clients,
        expected_total: total,
        ..Report::default()
    };
    for task in tasks {
        let tally = task
            .await
            .map_err(|e| format!("a client task failed: {e}"))?;
        report.sent += tally.sent;
        report.succeeded += tally.succeeded;
        report.refused += tally.refused;
        report.audits += tally.audits;
        report.problems.extend(tally.problems);
        report.latencies.extend(tally.latencies);
    }
    report.elapsed = start.elapsed();
    report.latencies.sort_unstable();

    report.server_transfers = (transfers_before, transfers_before);
    match client.get("/audit").await {
        Ok((_, after)) => {
            let transfers_after = u64::try_from(field(&after, "transfers")?).unwrap_or_default();
            report.server_transfers.1 = transfers_after;
            if field(&after, "total")? != total {
                report
                    .problems
                    .push(format!("final audit {after}: total is not {total}"));
            }
        }
        Err(e) => report.problems.push(format!("final audit: {e}")),
    }
    Ok(report)
}

async fn run_client(
    mut client: Client,
    ids: &[i64],
    total: i64,
    transfers: usize,
    load: &Load,
    seed: u64,
) -> Tally {
    let mut rng = XorShift::new(seed);
    let mut tally = Tally::default();
    let n = ids.len() as u64;
    for i in 0..transfers {
        let from = rng.below(n);
        let to = (from + 1 + rng.below(n - 1)) % n; // never `from`
        #[allow(clippy::cast_possible_truncation)] // below the length of `ids`
        let (from, to) = (ids[from as usize], ids[to as usize]);
        let amount = 1 + rng.below(load.max_amount.max(1));
        let body = json!({"from": from, "to": to, "amount": amount});
        let sent = Instant::now();
        let answer = client.post("/transfer", &body).await;
        tally.latencies.push(sent.elapsed());
        tally.sent += 1;
        match answer {
            Ok((200, _)) => tally.succeeded += 1,
            Ok((409, _)) => tally.refused += 1,
            Ok((status, body)) => tally
                .problems
                .push(format!("POST /transfer {body}: {status}")),
            Err(e) => {
                // No answer (the server is gone or stalled): this client
                // stops here rather than wait out every request left.
                tally.problems.push(e);
                break;
            }
        }
        if (i + 1) % load.audit_every.max(1) == 0 {
            let sent = Instant::now();
            let answer = client.get("/audit").await;
            tally.latencies.push(sent.elapsed());
            tally.audits += 1;
            match answer {
                Ok((200, audit)) if audit["total"].as_i64() == Some(total) => {}
                Ok((status, audit)) => tally.problems.push(format!(
                    "GET /audit answered {status} {audit}, expected total {total}"
                )),
                Err(e) => {
                    tally.problems.push(e);
                    break;
                }
            }
        }
    }
    tally
}
