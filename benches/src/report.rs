//! The ratio report: reads criterion's estimates and prints warden's time
//! relative to its peers, one row per benchmark, and the issue's targets.
//!
//! Criterion writes, per benchmark, a `benchmark.json` (its group,
//! function and value ids) and an `estimates.json` (mean, median, ... in
//! nanoseconds per iteration) into `target/criterion/<ids…>/<baseline>/`,
//! where the baseline is `new` for the last run or the name given to
//! `--save-baseline`. With several baselines (repeated runs) each ratio is
//! the median of its per-run ratios.
//!
//! Contender roles come from the function id: ids starting with `warden`
//! are warden's; `floor` and `parking_lot` are references (not async
//! peers); `saa` spins in `poll`; every other id is an async peer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{fs, io};

/// Reference contenders: shown, but never "the fastest peer".
pub const REFERENCES: [&str; 2] = ["floor", "parking_lot"];
/// Ratios up to this factor over a target count as noise (two cores).
pub const NOISE: f64 = 1.2;

/// Peers that spin inside `poll` before they queue.
pub const SPINNING: [&str; 1] = ["saa"];

/// One benchmark's result in one baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Criterion group id, e.g. `lock_contended`.
    pub group: String,
    /// Function id: the contender, e.g. `warden` or `tokio`.
    pub function: String,
    /// Parameter, e.g. `8` (tasks), if the benchmark has one.
    pub value: Option<String>,
    /// Median time per iteration, in nanoseconds.
    pub median_ns: f64,
}

impl Estimate {
    /// The row this estimate belongs to: group, then `/value` if any.
    pub fn row(&self) -> String {
        match &self.value {
            Some(v) => format!("{}/{v}", self.group),
            None => self.group.clone(),
        }
    }
}

/// Every estimate saved under `root` for `baseline`.
///
/// # Errors
///
/// If `root` cannot be read, or a result file is not what criterion writes.
pub fn load(root: &Path, baseline: &str) -> io::Result<Vec<Estimate>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == baseline) {
                    if let Some(e) = read_one(&path)? {
                        found.push(e);
                    }
                } else {
                    dirs.push(path);
                }
            }
        }
    }
    found.sort_by(|a, b| (a.row(), &a.function).cmp(&(b.row(), &b.function)));
    Ok(found)
}

fn read_one(dir: &Path) -> io::Result<Option<Estimate>> {
    let (bench, est) = (dir.join("benchmark.json"), dir.join("estimates.json"));
    if !bench.is_file() || !est.is_file() {
        return Ok(None);
    }
    let bad = |what: &str, path: &PathBuf| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {what}", path.display()),
        )
    };
    let b = json::parse(&fs::read_to_string(&bench)?).map_err(|e| bad(&e, &bench))?;
    let e = json::parse(&fs::read_to_string(&est)?).map_err(|e| bad(&e, &est))?;
    let group = b.get("group_id").and_then(json::Value::as_str);
    let function = b.get("function_id").and_then(json::Value::as_str);
    let median = e
        .get("median")
        .and_then(|m| m.get("point_estimate"))
        .and_then(json::Value::as_f64);
    let (Some(group), Some(median_ns)) = (group, median) else {
        return Err(bad("no group_id or median.point_estimate", &bench));
    };
    // A benchmark outside a group names no contender: not ours.
    let Some(function) = function else {
        return Ok(None);
    };
    Ok(Some(Estimate {
        group: group.to_owned(),
        function: function.to_owned(),
        value: b
            .get("value_str")
            .and_then(json::Value::as_str)
            .map(str::to_owned),
        median_ns,
    }))
}

/// Medians per row and contender, across baselines: `row → function →
/// per-baseline medians`.
pub type Runs = BTreeMap<String, BTreeMap<String, Vec<f64>>>;

/// Groups the estimates of several baselines (runs) by row and contender.
pub fn collect(baselines: &[Vec<Estimate>]) -> Runs {
    let mut runs = Runs::new();
    for (i, run) in baselines.iter().enumerate() {
        for e in run {
            let times = runs
                .entry(e.row())
                .or_default()
                .entry(e.function.clone())
                .or_default();
            // Only runs that measured this contender count.
            times.resize(i, f64::NAN);
            times.push(e.median_ns);
        }
    }
    runs
}

/// The median of the finite values (`NaN` if none).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        f64::midpoint(v[mid - 1], v[mid])
    }
}

/// Median over runs of `num[i] / den[i]`.
fn median_ratio(num: &[f64], den: &[f64]) -> f64 {
    median(num.iter().zip(den).map(|(n, d)| n / d))
}

/// Which peers a "fastest peer" column considers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Peers {
    /// Every async peer.
    All,
    /// Async peers that do not spin in `poll`.
    NoSpin,
}

/// The fastest peer of a row (by median time over runs) and warden's
/// median ratio to it.
pub fn best_ratio(
    contenders: &BTreeMap<String, Vec<f64>>,
    warden: &[f64],
    peers: Peers,
) -> Option<(String, f64)> {
    contenders
        .iter()
        .filter(|(name, _)| !name.starts_with("warden") && !REFERENCES.contains(&name.as_str()))
        .filter(|(name, _)| peers == Peers::All || !SPINNING.contains(&name.as_str()))
        .min_by(|a, b| median(a.1.iter().copied()).total_cmp(&median(b.1.iter().copied())))
        .map(|(name, times)| (name.clone(), median_ratio(warden, times)))
}

fn ratio_to(contenders: &BTreeMap<String, Vec<f64>>, warden: &[f64], peer: &str) -> Option<f64> {
    contenders.get(peer).map(|t| median_ratio(warden, t))
}

fn cell(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r.is_finite() => format!("{r:.2}"),
        _ => "-".to_owned(),
    }
}

fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// The ratio table: one row per (benchmark, warden contender).
pub fn table(runs: &Runs, n_runs: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "warden / peer, median time per iteration ({n_runs} run{}); < 1 means warden is faster",
        if n_runs == 1 { "" } else { "s, median ratio" }
    );
    let _ = writeln!(
        out,
        "{:<34} {:>9}  {:<24} {:>6} {:>7} {:>6} {:>6} {:>6}",
        "benchmark", "warden", "fastest async peer", "w/best", "no-spin", "tokio", "floor", "p_lot"
    );
    for (row, contenders) in runs {
        for (name, warden) in contenders.iter().filter(|(n, _)| n.starts_with("warden")) {
            let label = if name == "warden" {
                row.clone()
            } else {
                format!(
                    "{row} [{}]",
                    &name["warden".len()..].trim_start_matches('-')
                )
            };
            let best = best_ratio(contenders, warden, Peers::All);
            let best_label = best.as_ref().map_or_else(
                || "-".to_owned(),
                |(peer, _)| format!("{peer} {}", time(median(contenders[peer].iter().copied()))),
            );
            let _ = writeln!(
                out,
                "{:<34} {:>9}  {:<24} {:>6} {:>7} {:>6} {:>6} {:>6}",
                label,
                time(median(warden.iter().copied())),
                best_label,
                cell(best.map(|b| b.1)),
                cell(best_ratio(contenders, warden, Peers::NoSpin).map(|b| b.1)),
                cell(ratio_to(contenders, warden, "tokio")),
                cell(ratio_to(contenders, warden, "floor")),
                cell(ratio_to(contenders, warden, "parking_lot")),
            );
        }
    }
    out
}

/// One of the issue's targets: `warden` in `row` against `against`.
struct Target {
    what: &'static str,
    row: &'static str,
    warden: &'static str,
    against: Against,
    limit: f64,
}

enum Against {
    Peer(&'static str),
    Best(Peers),
    /// Another row's warden time (`RLock` nested vs `Lock`).
    Row(&'static str, &'static str),
}

const TARGETS: &[Target] = &[
    Target {
        what: "uncontended Lock vs fastest async peer",
        row: "lock_uncontended",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "uncontended Lock vs atomic floor",
        row: "lock_uncontended",
        warden: "warden",
        against: Against::Peer("floor"),
        limit: 2.5,
    },
    Target {
        what: "uncontended Semaphore vs fastest async peer",
        row: "semaphore_uncontended",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "uncontended Semaphore vs atomic floor",
        row: "semaphore_uncontended",
        warden: "warden",
        against: Against::Peer("floor"),
        limit: 2.5,
    },
    Target {
        what: "contended Lock, 2 tasks, vs best non-spinning",
        row: "lock_contended/2",
        warden: "warden",
        against: Against::Best(Peers::NoSpin),
        limit: 1.0,
    },
    Target {
        what: "contended Lock, 8 tasks, vs best non-spinning",
        row: "lock_contended/8",
        warden: "warden",
        against: Against::Best(Peers::NoSpin),
        limit: 1.0,
    },
    Target {
        what: "contended Lock, 64 tasks, vs best non-spinning",
        row: "lock_contended/64",
        warden: "warden",
        against: Against::Best(Peers::NoSpin),
        limit: 1.0,
    },
    Target {
        what: "contended FIFO Semaphore vs fair futures-intrusive",
        row: "semaphore_contended",
        warden: "warden",
        against: Against::Peer("futures-intrusive"),
        limit: 1.0,
    },
    Target {
        what: "Event ping-pong vs tokio Notify",
        row: "event_pingpong",
        warden: "warden",
        against: Against::Peer("tokio"),
        limit: 1.0,
    },
    Target {
        what: "Barrier vs fastest peer",
        row: "barrier",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "Condition ping-pong vs tokio Mutex + Notify",
        row: "condition_pingpong",
        warden: "warden",
        against: Against::Peer("tokio"),
        limit: 1.0,
    },
    Target {
        what: "RLock nested re-acquire vs Lock acquire",
        row: "rlock/nested1",
        warden: "warden",
        against: Against::Row("rlock/nested1", "warden-lock"),
        limit: 2.0,
    },
];

/// The issue's targets that these runs measured, each with its median
/// ratio and whether it holds.
pub fn targets(runs: &Runs) -> String {
    let mut out = String::from("issue 11 targets (median ratios; 0.85-1.2 is noise on 2 cores)\n");
    for t in TARGETS {
        let Some(warden) = runs.get(t.row).and_then(|c| c.get(t.warden)) else {
            continue;
        };
        let contenders = &runs[t.row];
        let (against, ratio) = match t.against {
            Against::Peer(p) => (p.to_owned(), ratio_to(contenders, warden, p)),
            Against::Best(peers) => match best_ratio(contenders, warden, peers) {
                Some((p, r)) => (p, Some(r)),
                None => ("-".to_owned(), None),
            },
            Against::Row(row, f) => (
                format!("{row} {f}"),
                runs.get(row)
                    .and_then(|c| c.get(f))
                    .map(|t| median_ratio(warden, t)),
            ),
        };
        let verdict = match ratio {
            Some(r) if r <= t.limit => "met",
            Some(r) if r <= t.limit * NOISE => "within noise",
            Some(r) if r.is_finite() => "MISSED",
            _ => "not measured",
        };
        let _ = writeln!(
            out,
            "  {:<52} {:>6} (≤ {:.1}, vs {against}) {verdict}",
            t.what,
            cell(ratio),
            t.limit,
        );
    }
    out
}

/// A JSON reader just large enough for criterion's result files (std only,
/// so the report builds with the tests and without criterion).
pub mod json {
    /// A parsed JSON value.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        /// `null`
        Null,
        /// `true` / `false`
        Bool(bool),
        /// Any number.
        Number(f64),
        /// A string.
        String(String),
        /// An array.
        Array(Vec<Value>),
        /// An object, in source order.
        Object(Vec<(String, Value)>),
    }

    impl Value {
        /// The member `key` of an object.
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        /// The string, if this is one.
        pub fn as_str(&self) -> Option<&str> {
            match self {
                Value::String(s) => Some(s),
                _ => None,
            }
        }

        /// The number, if this is one.
        pub fn as_f64(&self) -> Option<f64> {
            match self {
                Value::Number(n) => Some(*n),
                _ => None,
            }
        }
    }

    /// Parses one JSON document.
    ///
    /// # Errors
    ///
    /// A message naming the byte offset of the first syntax error.
    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i == p.s.len() {
            Ok(v)
        } else {
            Err(p.err("trailing characters"))
        }
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn err(&self, what: &str) -> String {
            format!("JSON: {what} at byte {}", self.i)
        }

        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }

        fn eat(&mut self, lit: &str) -> Result<(), String> {
            if self.s[self.i..].starts_with(lit.as_bytes()) {
                self.i += lit.len();
                Ok(())
            } else {
                Err(self.err(&format!("expected `{lit}`")))
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            match self.s.get(self.i) {
                Some(b'n') => self.eat("null").map(|()| Value::Null),
                Some(b't') => self.eat("true").map(|()| Value::Bool(true)),
                Some(b'f') => self.eat("false").map(|()| Value::Bool(false)),
                Some(b'"') => self.string().map(Value::String),
                Some(b'[') => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Value::Array(items));
                    }
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Value::Array(items));
                            }
                            _ => return Err(self.err("expected `,` or `]`")),
                        }
                    }
                }
                Some(b'{') => {
                    self.i += 1;
                    let mut members = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Value::Object(members));
                    }
                    loop {
                        self.ws();
                        let key = self.string()?;
                        self.ws();
                        self.eat(":")?;
                        members.push((key, self.value()?));
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Value::Object(members));
                            }
                            _ => return Err(self.err("expected `,` or `}`")),
                        }
                    }
                }
                Some(_) => self.number(),
                None => Err(self.err("unexpected end")),
            }
        }

        fn number(&mut self) -> Result<Value, String> {
            let start = self.i;
            while self
                .s
                .get(self.i)
                .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
            {
                self.i += 1;
            }
            std::str::from_utf8(&self.s[start..self.i])
                .ok()
                .and_then(|t| t.parse().ok())
                .map(Value::Number)
                .ok_or_else(|| self.err("bad number"))
        }

        fn string(&mut self) -> Result<String, String> {
            self.eat("\"")?;
            let mut out = Vec::new();
            loop {
                let Some(&c) = self.s.get(self.i) else {
                    return Err(self.err("unterminated string"));
                };
                self.i += 1;
                match c {
                    b'"' => return String::from_utf8(out).map_err(|_| self.err("bad UTF-8")),
                    b'\\' => {
                        let Some(&e) = self.s.get(self.i) else {
                            return Err(self.err("unterminated escape"));
                        };
                        self.i += 1;
                        match e {
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'r' => out.push(b'\r'),
                            b'b' => out.push(8),
                            b'f' => out.push(12),
                            b'u' => {
                                let hex = self
                                    .s
                                    .get(self.i..self.i + 4)
                                    .and_then(|h| std::str::from_utf8(h).ok())
                                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                                    .ok_or_else(|| self.err("bad \\u escape"))?;
                                self.i += 4;
                                let ch = char::from_u32(hex).unwrap_or('\u{fffd}');
                                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                            }
                            other => out.push(other),
                        }
                    }
                    _ => out.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_criterion_files() {
        let b = json::parse(
            r#"{"group_id":"lock_contended","function_id":"warden","value_str":"8",
               "throughput":null,"full_id":"lock_contended/warden/8","title":"a\"b\u00e9"}"#,
        )
        .unwrap();
        assert_eq!(b.get("value_str").and_then(json::Value::as_str), Some("8"));
        assert_eq!(b.get("title").and_then(json::Value::as_str), Some("a\"bé"));
        let e = json::parse(
            r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,
               "upper_bound":2.5e1},"point_estimate":1.5,"standard_error":0.1},
               "median":{"point_estimate":-1.25E-3},"slope":null,"xs":[1,[],{}]}"#,
        )
        .unwrap();
        let m = e.get("median").and_then(|m| m.get("point_estimate"));
        assert_eq!(m.and_then(json::Value::as_f64), Some(-1.25e-3));
        assert!(json::parse("{").is_err());
        assert!(json::parse("[1,]").is_err());
    }

    fn est(row: &str, function: &str, ns: f64) -> Estimate {
        let (group, value) = match row.split_once('/') {
            Some((g, v)) => (g.to_owned(), Some(v.to_owned())),
            None => (row.to_owned(), None),
        };
        Estimate {
            group,
            function: function.to_owned(),
            value,
            median_ns: ns,
        }
    }

    #[test]
    fn ratios_are_medians_over_runs_and_skip_references() {
        let runs = collect(&[
            vec![
                est("g", "warden", 10.0),
                est("g", "saa", 5.0),
                est("g", "tokio", 20.0),
                est("g", "floor", 1.0),
            ],
            vec![
                est("g", "warden", 30.0),
                est("g", "saa", 5.0),
                est("g", "tokio", 20.0),
                est("g", "floor", 1.0),
            ],
            vec![
                est("g", "warden", 12.0),
                est("g", "saa", 6.0),
                est("g", "tokio", 24.0),
                est("g", "floor", 1.0),
            ],
        ]);
        let g = &runs["g"];
        let w = &g["warden"];
        assert_eq!(best_ratio(g, w, Peers::All), Some(("saa".to_owned(), 2.0)));
        assert_eq!(
            best_ratio(g, w, Peers::NoSpin),
            Some(("tokio".to_owned(), 0.5))
        );
        assert!((median([3.0, 1.0, f64::NAN, 2.0]) - 2.0).abs() < f64::EPSILON);
        let t = table(&runs, 3);
        assert!(t.contains("saa"), "{t}");
        assert!(t.lines().count() == 3, "{t}");
    }

    #[test]
    fn targets_name_the_row_they_check() {
        let runs = collect(&[vec![
            est("rlock/nested1", "warden", 30.0),
            est("rlock/nested1", "warden-lock", 10.0),
        ]]);
        let t = targets(&runs);
        assert!(t.contains("3.00") && t.contains("MISSED"), "{t}");
    }
}
