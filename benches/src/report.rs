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
//! peers); `saa` spins in `poll`; every other id is an async peer. (The
//! `guarded_access` group compares `guarded` with `hand-written`; only its
//! target line reports it.)
//!
//! Outputs: the one-screen terminal [`table`] and [`targets`]; the same as
//! Markdown ([`markdown`], [`markdown_summary`]) for the book and the
//! README; and a bar chart of the ratios as SVG ([`svg`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
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
    /// An estimate for `row` (`group` or `group/value`, as [`row`](Self::row)
    /// gives it back) and contender `function`.
    pub fn new(row: &str, function: &str, median_ns: f64) -> Self {
        let (group, value) = match row.split_once('/') {
            Some((g, v)) => (g.to_owned(), Some(v.to_owned())),
            None => (row.to_owned(), None),
        };
        Self {
            group,
            function: function.to_owned(),
            value,
            median_ns,
        }
    }

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
    for dir in baseline_dirs(root, baseline)? {
        if let Some(e) = read_one(&dir)? {
            found.push(e);
        }
    }
    found.sort_by(|a, b| (a.row(), &a.function).cmp(&(b.row(), &b.function)));
    Ok(found)
}

/// When the newest estimate of `baseline` under `root` was written (the
/// end of that run), if there is one.
///
/// # Errors
///
/// If `root` cannot be read.
pub fn last_run(root: &Path, baseline: &str) -> io::Result<Option<SystemTime>> {
    let mut newest = None;
    for dir in baseline_dirs(root, baseline)? {
        if let Ok(meta) = fs::metadata(dir.join("estimates.json")) {
            newest = newest.max(Some(meta.modified()?));
        }
    }
    Ok(newest)
}

/// Every directory named `baseline` under `root` (criterion's layout:
/// `<group>/<function>[/<value>]/<baseline>/`).
fn baseline_dirs(root: &Path, baseline: &str) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == baseline) {
                    found.push(path);
                } else {
                    dirs.push(path);
                }
            }
        }
    }
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

/// One line of the report: a warden contender in one benchmark, with its
/// median ratios (`None` where the peer was not measured).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The benchmark (`group/value`), then ` [variant]` for a warden
    /// contender other than `warden` (e.g. `warden-bounded`).
    pub label: String,
    /// warden's median time per iteration over the runs, in nanoseconds.
    pub warden_ns: f64,
    /// How many runs measured this contender.
    pub runs: usize,
    /// The fastest async peer (by median time), its median time and
    /// warden's median ratio to it.
    pub best: Option<(String, f64, f64)>,
    /// warden ÷ the fastest async peer that does not spin in `poll`.
    pub no_spin: Option<f64>,
    /// warden ÷ tokio.
    pub tokio: Option<f64>,
    /// warden ÷ the atomic floor (a reference, not a peer).
    pub floor: Option<f64>,
    /// warden ÷ `parking_lot` (blocking; a reference, not a peer).
    pub parking_lot: Option<f64>,
}

/// Sorts `lock_contended/8` before `lock_contended/64`.
fn row_key(row: &str) -> (&str, u64, &str) {
    match row.split_once('/') {
        Some((group, value)) => (group, value.parse().unwrap_or(u64::MAX), value),
        None => (row, 0, ""),
    }
}

fn finite(ratio: Option<f64>) -> Option<f64> {
    ratio.filter(|r| r.is_finite())
}

/// Every line of the report, by benchmark (numeric values in order), then
/// `warden` before its variants.
pub fn lines(runs: &Runs) -> Vec<Line> {
    let mut rows: Vec<_> = runs.iter().collect();
    rows.sort_by(|a, b| row_key(a.0).cmp(&row_key(b.0)));
    let mut out = Vec::new();
    for (row, contenders) in rows {
        for (name, warden) in contenders.iter().filter(|(n, _)| n.starts_with("warden")) {
            let label = if name == "warden" {
                row.clone()
            } else {
                format!(
                    "{row} [{}]",
                    &name["warden".len()..].trim_start_matches('-')
                )
            };
            let best = best_ratio(contenders, warden, Peers::All).map(|(peer, ratio)| {
                let ns = median(contenders[&peer].iter().copied());
                (peer, ns, ratio)
            });
            out.push(Line {
                label,
                warden_ns: median(warden.iter().copied()),
                runs: warden.iter().filter(|t| t.is_finite()).count(),
                best: best.filter(|b| b.2.is_finite()),
                no_spin: finite(best_ratio(contenders, warden, Peers::NoSpin).map(|b| b.1)),
                tokio: finite(ratio_to(contenders, warden, "tokio")),
                floor: finite(ratio_to(contenders, warden, "floor")),
                parking_lot: finite(ratio_to(contenders, warden, "parking_lot")),
            });
        }
    }
    out
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
    for line in lines(runs) {
        let best_label = line.best.as_ref().map_or_else(
            || "-".to_owned(),
            |(peer, ns, _)| format!("{peer} {}", time(*ns)),
        );
        let _ = writeln!(
            out,
            "{:<34} {:>9}  {:<24} {:>6} {:>7} {:>6} {:>6} {:>6}",
            line.label,
            time(line.warden_ns),
            best_label,
            cell(line.best.map(|b| b.2)),
            cell(line.no_spin),
            cell(line.tokio),
            cell(line.floor),
            cell(line.parking_lot),
        );
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
    Target {
        what: "uncontended RwLock read vs fastest async peer",
        row: "rwlock_uncontended/read",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "uncontended RwLock write vs fastest async peer",
        row: "rwlock_uncontended/write",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "RwLock, 1 writer : 2 readers, vs best peer",
        row: "rwlock_read_mostly/2",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "RwLock, 1 writer : 8 readers, vs best peer",
        row: "rwlock_read_mostly/8",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "RwLock, 1 writer : 64 readers, vs best peer",
        row: "rwlock_read_mostly/64",
        warden: "warden",
        against: Against::Best(Peers::All),
        limit: 1.0,
    },
    Target {
        what: "#[guarded] access vs hand-written Lock<Inner>",
        row: "guarded_access",
        warden: "guarded",
        against: Against::Peer("hand-written"),
        limit: 1.0,
    },
];

/// Whether a target holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// At or under the limit.
    Met,
    /// Over the limit by no more than the noise factor ([`NOISE`]).
    WithinNoise,
    /// Over the limit by more than the noise.
    Missed,
    /// The peer it is measured against was not in the runs.
    NotMeasured,
}

impl Verdict {
    /// How the report prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::WithinNoise => "within noise",
            Verdict::Missed => "MISSED",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// One target's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// What the target says, e.g. `uncontended Lock vs atomic floor`.
    pub what: &'static str,
    /// The median ratio, if both sides were measured.
    pub ratio: Option<f64>,
    /// The ratio the target allows.
    pub limit: f64,
    /// What warden was measured against (the peer, or `row contender`).
    pub against: String,
    /// Whether it holds.
    pub verdict: Verdict,
}

/// The issue's targets that these runs measured (warden's side present).
pub fn outcomes(runs: &Runs) -> Vec<Outcome> {
    let mut out = Vec::new();
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
        let ratio = finite(ratio);
        let verdict = match ratio {
            Some(r) if r <= t.limit => Verdict::Met,
            Some(r) if r <= t.limit * NOISE => Verdict::WithinNoise,
            Some(_) => Verdict::Missed,
            None => Verdict::NotMeasured,
        };
        out.push(Outcome {
            what: t.what,
            ratio,
            limit: t.limit,
            against,
            verdict,
        });
    }
    out
}

/// The issue's targets that these runs measured, each with its median
/// ratio and whether it holds.
pub fn targets(runs: &Runs) -> String {
    let mut out = String::from("targets (median ratios; 0.85-1.2 is noise on 2 cores)\n");
    for o in outcomes(runs) {
        let _ = writeln!(
            out,
            "  {:<52} {:>6} (≤ {:.1}, vs {}) {}",
            o.what,
            cell(o.ratio),
            o.limit,
            o.against,
            o.verdict.as_str(),
        );
    }
    out
}

/// Where a set of results came from, for the Markdown caption.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The criterion baselines read (`new`, or `run1 run2 run3`).
    pub baselines: Vec<String>,
    /// The day of the newest result, `YYYY-MM-DD` (UTC).
    pub date: Option<String>,
    /// The machine, e.g. `2 cores, x86_64`.
    pub machine: Option<String>,
}

impl Provenance {
    fn caption(&self) -> String {
        let names: Vec<String> = self.baselines.iter().map(|b| format!("`{b}`")).collect();
        let mut s = format!(
            "Criterion baseline{} {}",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        );
        if let Some(date) = &self.date {
            let _ = write!(s, " of {date}");
        }
        if let Some(machine) = &self.machine {
            let _ = write!(s, ", {machine}");
        }
        s.push_str(
            ". Median time per iteration; with several runs each ratio is the median of the \
             per-run ratios. Below 1, warden is faster; 0.85-1.2 is noise.",
        );
        s
    }
}

/// The first line of every generated Markdown file.
pub const GENERATED: &str =
    "<!-- Generated by `benches/run-all.sh` (the `ratios` binary): do not edit by hand. -->";

/// Markdown cells may not hold `|`, and a `<` would open an HTML tag
/// (`Lock<Inner>` would be eaten as the tag `<inner>`).
fn md(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A cell written inside backticks: a code span shows `<` as it is.
fn md_code(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The issue's targets as a Markdown table (no caption).
pub fn markdown_targets(runs: &Runs) -> String {
    let mut out = String::from(
        "| measure | warden ÷ peer | target | against | verdict |\n\
         |:--|--:|--:|:--|:--|\n",
    );
    for o in outcomes(runs) {
        let _ = writeln!(
            out,
            "| {} | {} | ≤ {:.1} | {} | {} |",
            md(o.what),
            cell(o.ratio),
            o.limit,
            md(&o.against),
            o.verdict.as_str(),
        );
    }
    out
}

/// The report as Markdown: the caption, the ratio table (benchmarks with an
/// async peer to compare with), then the issue's targets.
pub fn markdown(runs: &Runs, provenance: &Provenance) -> String {
    let mut out = format!("{GENERATED}\n\n{}\n\n", provenance.caption());
    out.push_str(
        "| benchmark | warden | fastest async peer | warden ÷ fastest | warden ÷ tokio | runs |\n\
         |:--|--:|:--|--:|--:|--:|\n",
    );
    let mut without_peer = Vec::new();
    for line in lines(runs) {
        if line.best.is_none() && line.tokio.is_none() {
            // By group: `rlock/nested1 [lock]` → `rlock`.
            let group = line.label.split(['/', ' ']).next().unwrap_or_default();
            if !without_peer.contains(&group.to_owned()) {
                without_peer.push(group.to_owned());
            }
            continue;
        }
        let best = line.best.as_ref().map_or_else(
            || "-".to_owned(),
            |(peer, ns, _)| format!("{peer}, {}", time(*ns)),
        );
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            md_code(&line.label),
            time(line.warden_ns),
            md(&best),
            cell(line.best.map(|b| b.2)),
            cell(line.tokio),
            line.runs,
        );
    }
    if !without_peer.is_empty() {
        let _ = writeln!(
            out,
            "\nNot in the table (no async peer measured; the terminal table has them): {}.",
            without_peer
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out.push('\n');
    out.push_str(&markdown_targets(runs));
    out
}

/// The caption and the targets table: the README's short version.
pub fn markdown_summary(runs: &Runs, provenance: &Provenance) -> String {
    // A blank line last: a table must not run into the end marker.
    format!(
        "{GENERATED}\n\n{}\n\n{}\n",
        provenance.caption(),
        markdown_targets(runs)
    )
}

/// The README lines between which `ratios --readme` writes
/// [`markdown_summary`].
pub const README_MARKERS: (&str, &str) = ("<!-- ratios:begin -->", "<!-- ratios:end -->");

/// Replaces what lies between the line holding `begin` and the line
/// holding `end` (both kept) with `new`; `None` if either is missing.
pub fn splice(text: &str, begin: &str, end: &str, new: &str) -> Option<String> {
    let b = text.find(begin)?;
    let start = b + text[b..].find('\n')? + 1;
    let stop = start + text[start..].find(end)?;
    let stop = text[..stop].rfind('\n').map_or(stop, |n| n + 1).max(start);
    let mut out = String::with_capacity(text.len() + new.len());
    out.push_str(&text[..start]);
    out.push_str(new);
    if !new.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&text[stop..]);
    Some(out)
}

/// The day `t` falls on, `YYYY-MM-DD` in UTC.
pub fn utc_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 >= 0.
    let z = i64::try_from(secs / 86_400).unwrap_or(0) + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The chart's colours: warden ÷ fastest peer, warden ÷ tokio.
pub const BAR_COLOURS: [&str; 2] = ["#0072b2", "#e69f00"];
/// Darker shades of [`BAR_COLOURS`] for text on white.
const TEXT_COLOURS: [&str; 2] = ["#0072b2", "#9a5b00"];
/// The noise band the chart shades.
pub const NOISE_BAND: (f64, f64) = (0.85, NOISE);

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The 1-2-5 ticks of a log axis, from 0.01 to 100.
const TICKS: [f64; 13] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
];

/// The chart's geometry: a label column, the plot, two value columns.
struct Chart {
    /// The axis's ends (ticks).
    lo: f64,
    hi: f64,
    /// The plot's left and right edges.
    x0: f64,
    x1: f64,
    width: f64,
    /// The first row's top, the plot's height.
    top: f64,
    plot_h: f64,
}

impl Chart {
    const PITCH: f64 = 24.0;
    const BAR: f64 = 8.0;
    /// The value columns' right edges, after the plot.
    const COLUMNS: [f64; 2] = [68.0, 122.0];
    const GREY: &str = "#57606a";

    #[allow(clippy::cast_precision_loss)] // a few dozen rows
    fn new(lines: &[Line]) -> Chart {
        let ratios = lines
            .iter()
            .flat_map(|l| [l.best.as_ref().map(|b| b.2), l.tokio])
            .flatten();
        let (lo, hi) = ratios.fold((0.5_f64, 2.0_f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
        let (label_w, plot_w, value_w) = (250.0, 440.0, 130.0);
        Chart {
            lo: TICKS
                .iter()
                .rev()
                .copied()
                .find(|&t| t <= lo)
                .unwrap_or(TICKS[0]),
            hi: TICKS
                .iter()
                .copied()
                .find(|&t| t >= hi)
                .unwrap_or(TICKS[12]),
            x0: label_w,
            x1: label_w + plot_w,
            width: label_w + plot_w + value_w,
            top: 84.0,
            plot_h: Chart::PITCH * lines.len() as f64,
        }
    }

    fn height(&self) -> f64 {
        self.top + self.plot_h + 58.0
    }

    /// The x of a ratio (log scale, clamped to the axis).
    fn x(&self, r: f64) -> f64 {
        let (lo, hi) = (self.lo, self.hi);
        self.x0 + (r.clamp(lo, hi) / lo).ln() / (hi / lo).ln() * (self.x1 - self.x0)
    }

    /// Background, title, legend, column headings.
    fn head(&self, s: &mut String, title: &str) {
        let (width, height, x0, x1) = (self.width, self.height(), self.x0, self.x1);
        let _ = writeln!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" fill="#1f2328">"##
        );
        let _ = writeln!(s, "  <title>{}</title>", xml(title));
        let _ = writeln!(
            s,
            "  <desc>warden's median time divided by the fastest async peer's and by tokio's, \
             per benchmark, on a log axis; bars start at 1.0, left of it warden is faster. The \
             grey band {}-{} is noise on a shared 2-core machine.</desc>",
            NOISE_BAND.0, NOISE_BAND.1
        );
        let _ = writeln!(
            s,
            r##"  <rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##
        );
        let _ = writeln!(
            s,
            r#"  <text x="{x0}" y="22" font-size="14" font-weight="bold">{}</text>"#,
            xml(title)
        );
        let whats = ["warden ÷ fastest async peer", "warden ÷ tokio"];
        for ((colour, what), lx) in BAR_COLOURS.iter().zip(whats).zip([x0, x0 + 230.0]) {
            let _ = writeln!(
                s,
                r#"  <rect x="{lx}" y="34" width="14" height="{}" fill="{colour}"/><text x="{}" y="42">{what}</text>"#,
                Chart::BAR,
                lx + 20.0
            );
        }
        for (column, what) in Chart::COLUMNS.iter().zip(["÷ fastest", "÷ tokio"]) {
            let _ = writeln!(
                s,
                r#"  <text x="{}" y="{}" text-anchor="end" fill="{}" font-weight="bold">{what}</text>"#,
                x1 + column,
                self.top - 26.0,
                Chart::GREY
            );
        }
    }

    /// Row stripes, the noise band, the grid with its tick labels, the
    /// line at 1.0.
    fn grid(&self, s: &mut String, rows: usize) {
        let (top, plot_h) = (self.top, self.plot_h);
        let mut y = top;
        for _ in (0..rows).step_by(2) {
            let _ = writeln!(
                s,
                r##"  <rect x="0" y="{y}" width="{}" height="{}" fill="#f4f5f7"/>"##,
                self.width,
                Chart::PITCH
            );
            y += 2.0 * Chart::PITCH;
        }
        let (n0, n1) = (self.x(NOISE_BAND.0), self.x(NOISE_BAND.1));
        let _ = writeln!(
            s,
            r##"  <rect class="noise" x="{n0:.1}" y="{top}" width="{:.1}" height="{plot_h}" fill="#9ca3af" fill-opacity="0.35"><title>noise: {}-{}</title></rect>"##,
            n1 - n0,
            NOISE_BAND.0,
            NOISE_BAND.1
        );
        for &t in TICKS.iter().filter(|&&t| t >= self.lo && t <= self.hi) {
            let tx = self.x(t);
            let (stroke, w) = if (t - 1.0).abs() < f64::EPSILON {
                ("#1f2328", 1.5)
            } else {
                ("#d0d7de", 1.0)
            };
            let _ = writeln!(
                s,
                r#"  <line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{}" stroke="{stroke}" stroke-width="{w}"/>"#,
                top - 4.0,
                top + plot_h + 4.0
            );
            for ty in [top - 8.0, top + plot_h + 18.0] {
                let _ = writeln!(
                    s,
                    r#"  <text x="{tx:.1}" y="{ty}" text-anchor="middle" fill="{}">{t}</text>"#,
                    Chart::GREY
                );
            }
        }
    }

    /// One benchmark: its label, a bar per ratio, the ratios in figures.
    fn row(&self, s: &mut String, y: f64, line: &Line) {
        let _ = writeln!(
            s,
            r#"  <text x="{}" y="{}" text-anchor="end" font-family="monospace" font-size="11">{}</text>"#,
            self.x0 - 10.0,
            y + 16.0,
            xml(&line.label)
        );
        let one = self.x(1.0);
        let ratios = [
            line.best.as_ref().map(|b| (b.2, b.0.as_str())),
            line.tokio.map(|r| (r, "tokio")),
        ];
        for (k, ratio) in ratios.into_iter().enumerate() {
            let Some((r, peer)) = ratio else { continue };
            let by = y + 4.0 + if k == 0 { 0.0 } else { Chart::BAR + 1.0 };
            let (bx, bw) = if r < 1.0 {
                (self.x(r), one - self.x(r))
            } else {
                (one, self.x(r) - one)
            };
            let _ = writeln!(
                s,
                r#"  <rect class="bar" x="{bx:.1}" y="{by}" width="{:.1}" height="{}" fill="{}"><title>{}: warden ÷ {} = {r:.2}</title></rect>"#,
                bw.max(1.0),
                Chart::BAR,
                BAR_COLOURS[k],
                xml(&line.label),
                xml(peer)
            );
            let _ = writeln!(
                s,
                r#"  <text x="{}" y="{}" text-anchor="end" fill="{}">{r:.2}</text>"#,
                self.x1 + Chart::COLUMNS[k],
                y + 16.0,
                TEXT_COLOURS[k]
            );
        }
    }
}

/// The ratio chart as a standalone SVG: per benchmark with an async peer,
/// a bar for warden ÷ the fastest peer and one for warden ÷ tokio, on a
/// log axis, each starting at 1.0 (left: warden faster), with the noise
/// band shaded. White background and explicit colours, so it reads the
/// same in light and dark themes.
pub fn svg(runs: &Runs, title: &str) -> String {
    let lines: Vec<Line> = lines(runs)
        .into_iter()
        .filter(|l| l.best.is_some() || l.tokio.is_some())
        .collect();
    let chart = Chart::new(&lines);
    let mut s = String::new();
    chart.head(&mut s, title);
    chart.grid(&mut s, lines.len());
    let mut y = chart.top;
    for line in &lines {
        chart.row(&mut s, y, line);
        y += Chart::PITCH;
    }
    let _ = writeln!(
        s,
        r#"  <text x="{}" y="{}" fill="{}">log scale; bars start at 1.0: left, warden is faster; grey band {}-{}: noise</text>"#,
        chart.x0,
        y + 40.0,
        Chart::GREY,
        NOISE_BAND.0,
        NOISE_BAND.1
    );
    s.push_str("</svg>\n");
    s
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
        Estimate::new(row, function, ns)
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
