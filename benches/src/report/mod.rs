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
//! README; and a bar chart of the ratios as SVG ([`svg`]). This file reads
//! the results (with `serde_json`) and works out the ratios; `targets.rs`
//! holds the issue's targets, `table.rs` writes the text and Markdown
//! tables, `chart.rs` the SVG.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use std::{fs, io};

use serde::Deserialize;

mod chart;
mod table;
mod targets;

pub use chart::{BAR_COLOURS, NOISE_BAND, svg};
pub use table::{
    GENERATED, Provenance, README_MARKERS, markdown, markdown_summary, markdown_targets, splice,
    table, targets,
};
pub use targets::{Outcome, Verdict, outcomes};

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

/// The ids criterion saves in `benchmark.json`.
#[derive(Deserialize)]
struct BenchmarkIds {
    group_id: String,
    /// `None` for a benchmark outside a group: it names no contender.
    function_id: Option<String>,
    value_str: Option<String>,
}

/// The part of criterion's `estimates.json` the report reads.
#[derive(Deserialize)]
struct Estimates {
    median: PointEstimate,
}

#[derive(Deserialize)]
struct PointEstimate {
    /// Nanoseconds per iteration.
    point_estimate: f64,
}

/// Reads criterion's JSON file `path` as a `T`.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<T> {
    serde_json::from_str(&fs::read_to_string(path)?).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

fn read_one(dir: &Path) -> io::Result<Option<Estimate>> {
    let (bench, est) = (dir.join("benchmark.json"), dir.join("estimates.json"));
    if !bench.is_file() || !est.is_file() {
        return Ok(None);
    }
    let ids: BenchmarkIds = read_json(&bench)?;
    let estimates: Estimates = read_json(&est)?;
    // A benchmark outside a group names no contender: not ours.
    let Some(function) = ids.function_id else {
        return Ok(None);
    };
    Ok(Some(Estimate {
        group: ids.group_id,
        function,
        value: ids.value_str,
        median_ns: estimates.median.point_estimate,
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
pub(crate) fn median_ratio(num: &[f64], den: &[f64]) -> f64 {
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

pub(crate) fn ratio_to(
    contenders: &BTreeMap<String, Vec<f64>>,
    warden: &[f64],
    peer: &str,
) -> Option<f64> {
    contenders.get(peer).map(|t| median_ratio(warden, t))
}

pub(crate) fn cell(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r.is_finite() => format!("{r:.2}"),
        _ => "-".to_owned(),
    }
}

pub(crate) fn time(ns: f64) -> String {
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

pub(crate) fn finite(ratio: Option<f64>) -> Option<f64> {
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

/// The day `t` falls on, `YYYY-MM-DD` in UTC.
pub fn utc_date(t: SystemTime) -> String {
    time::OffsetDateTime::from(t).date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_files() {
        let dir = std::env::temp_dir().join(format!("warden-report-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("benchmark.json"),
            r#"{"group_id":"lock_contended","function_id":"warden","value_str":"8",
               "throughput":null,"full_id":"lock_contended/warden/8","title":"a\"b\u00e9"}"#,
        )
        .unwrap();
        fs::write(
            dir.join("estimates.json"),
            r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,
               "upper_bound":2.5e1},"point_estimate":1.5,"standard_error":0.1},
               "median":{"point_estimate":-1.25E-3},"slope":null,"xs":[1,[],{}]}"#,
        )
        .unwrap();
        let e = read_one(&dir).unwrap().unwrap();
        assert_eq!(e, Estimate::new("lock_contended/8", "warden", -1.25e-3));
        fs::write(dir.join("estimates.json"), "{").unwrap();
        let err = read_one(&dir).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("estimates.json"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
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
