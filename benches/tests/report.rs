//! The report's writers on a small fixture, no criterion run: the Markdown
//! table and targets, the SVG chart (well-formed, one bar per ratio, the
//! noise band), the README splice, and loading criterion's file layout.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use warden_benches::report::{self, Estimate, Provenance, Runs};

fn est(row: &str, function: &str, ns: f64) -> Estimate {
    Estimate::new(row, function, ns)
}

/// Two runs; `barrier` only in the first. 5 rows with an async peer, 7
/// ratios in all (`lock_contended/*` and `semaphore_contended` have no
/// tokio), one row with no peer (`rlock/nested1 [lock]`) and one with only
/// a row target (`rlock/nested1`).
fn fixture() -> Runs {
    let run = |warden_lock: f64| {
        vec![
            est("lock_uncontended", "warden", 6.0),
            est("lock_uncontended", "saa", 6.5),
            est("lock_uncontended", "tokio", 40.0),
            est("lock_uncontended", "floor", 2.6),
            est("lock_contended/8", "warden", 500.0),
            est("lock_contended/8", "async-lock", 400.0),
            est("lock_contended/64", "warden", 100.0),
            est("lock_contended/64", "futures-util", 200.0),
            est("semaphore_contended", "warden-bounded", 3.0e6),
            est("semaphore_contended", "futures-intrusive", 3.0e6),
            est("rlock/nested1", "warden", 17.0),
            est("rlock/nested1", "warden-lock", warden_lock),
        ]
    };
    let mut first = run(6.0);
    first.extend([
        est("barrier", "warden", 2.0e5),
        est("barrier", "tokio", 1.0e5),
    ]);
    report::collect(&[first, run(6.0)])
}

fn provenance() -> Provenance {
    Provenance {
        baselines: vec!["run1".to_owned(), "run2".to_owned()],
        date: Some("2026-01-02".to_owned()),
        machine: Some("2 cores".to_owned()),
    }
}

#[test]
fn markdown_has_one_row_per_compared_benchmark_then_the_targets() {
    let md = report::markdown(&fixture(), &provenance());
    assert!(md.starts_with(report::GENERATED), "{md}");
    assert!(
        md.contains("baselines `run1`, `run2` of 2026-01-02, 2 cores."),
        "{md}"
    );
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(
        rows,
        [
            "| `barrier` | 200.0 µs | tokio, 100.0 µs | 2.00 | 2.00 | 1 |",
            "| `lock_contended/8` | 500.0 ns | async-lock, 400.0 ns | 1.25 | - | 2 |",
            "| `lock_contended/64` | 100.0 ns | futures-util, 200.0 ns | 0.50 | - | 2 |",
            "| `lock_uncontended` | 6.0 ns | saa, 6.5 ns | 0.92 | 0.15 | 2 |",
            "| `semaphore_contended [bounded]` | 3.00 ms | futures-intrusive, 3.00 ms | 1.00 | - | 2 |",
        ],
        "{md}"
    );
    assert!(
        md.contains("the terminal table has them): `rlock`.\n"),
        "{md}"
    );
    let targets: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| measure |"))
        .skip(2)
        .collect();
    assert_eq!(
        targets,
        [
            "| uncontended Lock vs fastest async peer | 0.92 | ≤ 1.0 | saa | met |",
            "| uncontended Lock vs atomic floor | 2.31 | ≤ 2.5 | floor | met |",
            "| contended Lock, 8 tasks, vs best non-spinning | 1.25 | ≤ 1.0 | async-lock | MISSED |",
            "| contended Lock, 64 tasks, vs best non-spinning | 0.50 | ≤ 1.0 | futures-util | met |",
            "| Barrier vs fastest peer | 2.00 | ≤ 1.0 | tokio | MISSED |",
            "| RLock nested re-acquire vs Lock acquire | 2.83 | ≤ 2.0 | rlock/nested1 warden-lock | MISSED |",
        ],
        "{md}"
    );
    // The summary for the README is the caption and the same targets.
    let summary = report::markdown_summary(&fixture(), &provenance());
    assert!(summary.ends_with(&format!("{}\n", report::markdown_targets(&fixture()))));
    assert_eq!(summary.matches("| met |").count(), 3);
}

/// Checks that every tag is closed in order and attributes are quoted;
/// returns the element names in document order.
fn elements(svg: &str) -> Vec<String> {
    let mut open: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "stray `>` in {text:?}");
        for (i, _) in text.match_indices('&') {
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;"]
                    .iter()
                    .any(|e| text[i..].starts_with(e)),
                "unescaped `&` in {text:?}"
            );
        }
        let end = start + rest[start..].find('>').expect("a tag is closed with >");
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        assert!(!tag.contains('<'), "`<` inside a tag: {tag:?}");
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes: {tag:?}"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name),
                "</{name}> closes nothing open"
            );
            continue;
        }
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap()
            .to_owned();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "bad tag {tag:?}"
        );
        assert!(
            !open.is_empty() || names.is_empty(),
            "a second root element <{name}>"
        );
        names.push(name.clone());
        if !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(rest.trim().is_empty(), "text after the root: {rest:?}");
    assert!(open.is_empty(), "not closed: {open:?}");
    names
}

fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
    &tag[start..start + tag[start..].find('"').unwrap()]
}

#[test]
fn svg_is_well_formed_with_one_bar_per_ratio_and_the_noise_band() {
    let svg = report::svg(&fixture(), "warden <&> peers");
    let names = elements(&svg);
    assert_eq!(names[0], "svg");
    assert!(svg.contains("<title>warden &lt;&amp;&gt; peers</title>"));
    // A white background first, so dark themes do not show through.
    let background = svg.lines().find(|l| l.contains("<rect")).unwrap();
    assert!(background.contains("x=\"0\" y=\"0\"") && background.contains("fill=\"#ffffff\""));

    let bars: Vec<&str> = svg
        .lines()
        .filter(|l| l.contains("class=\"bar\""))
        .collect();
    assert_eq!(bars.len(), 7, "{svg}");
    for (colour, count) in report::BAR_COLOURS.iter().zip([5, 2]) {
        let n = bars
            .iter()
            .filter(|b| b.contains(&format!("fill=\"{colour}\"")))
            .count();
        assert_eq!(n, count, "bars in {colour}");
    }
    assert!(
        bars.iter()
            .any(|b| b.contains("lock_uncontended: warden ÷ tokio = 0.15"))
    );
    assert!(
        !svg.contains("rlock"),
        "a row without a peer is charted: {svg}"
    );

    // The noise band and the 1.0 line: bars leave from x(1.0), which lies
    // inside the band; a ratio under 1 ends left of it, over 1 right.
    let band = svg.lines().find(|l| l.contains("class=\"noise\"")).unwrap();
    let x0: f64 = attr(band, "x").parse().unwrap();
    let x1 = x0 + attr(band, "width").parse::<f64>().unwrap();
    let one = svg
        .lines()
        .find(|l| l.contains("<line") && l.contains("stroke-width=\"1.5\""))
        .map(|l| attr(l, "x1").parse::<f64>().unwrap())
        .unwrap();
    assert!(x0 < one && one < x1, "{x0} < {one} < {x1}");
    let bar = |label: &str| {
        let b = bars.iter().find(|b| b.contains(label)).unwrap();
        let x: f64 = attr(b, "x").parse().unwrap();
        (x, x + attr(b, "width").parse::<f64>().unwrap())
    };
    let faster = bar("lock_contended/64: ");
    assert!(faster.0 < x0 && (faster.1 - one).abs() < 0.2, "{faster:?}");
    let slower = bar("barrier: warden ÷ tokio");
    assert!((slower.0 - one).abs() < 0.2 && slower.1 > x1, "{slower:?}");
}

#[test]
fn svg_of_nothing_is_still_an_svg() {
    let svg = report::svg(&Runs::new(), "empty");
    assert_eq!(elements(&svg)[0], "svg");
    assert!(!svg.contains("class=\"bar\""));
}

#[test]
fn splice_replaces_between_the_markers_only() {
    let (begin, end) = report::README_MARKERS;
    let readme = format!("# x\n\n## Performance\n{begin}\nold\ntable\n{end}\n\nmore\n");
    let out = report::splice(&readme, begin, end, "new").unwrap();
    assert_eq!(
        out,
        format!("# x\n\n## Performance\n{begin}\nnew\n{end}\n\nmore\n")
    );
    // Idempotent, and empty contents work.
    assert_eq!(report::splice(&out, begin, end, "new\n").unwrap(), out);
    let empty = format!("{begin}\n{end}\n");
    assert_eq!(
        report::splice(&empty, begin, end, "a\n").unwrap(),
        format!("{begin}\na\n{end}\n")
    );
    assert!(report::splice("no markers\n", begin, end, "a").is_none());
    assert!(report::splice(&format!("{begin}\n"), begin, end, "a").is_none());
}

#[test]
fn utc_dates() {
    let day = |secs| report::utc_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    assert_eq!(day(0), "1970-01-01");
    assert_eq!(day(951_868_800), "2000-03-01");
    assert_eq!(day(1_709_164_800 + 86_399), "2024-02-29");
    assert_eq!(day(1_735_689_599), "2024-12-31");
}

#[test]
fn loads_criterion_layout() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-fixture");
    let _ = fs::remove_dir_all(&root);
    let write = |ids: &str, baseline: &str, value: Option<&str>, ns: f64| {
        let dir = root.join(ids).join(baseline);
        fs::create_dir_all(&dir).unwrap();
        let mut parts = ids.split('/');
        let (group, function) = (parts.next().unwrap(), parts.next().unwrap());
        let value = value.map_or("null".to_owned(), |v| format!("\"{v}\""));
        fs::write(
            dir.join("benchmark.json"),
            format!(r#"{{"group_id":"{group}","function_id":"{function}","value_str":{value}}}"#),
        )
        .unwrap();
        fs::write(
            dir.join("estimates.json"),
            format!(r#"{{"median":{{"point_estimate":{ns}}}}}"#),
        )
        .unwrap();
    };
    write("lock_contended/warden/8", "run1", Some("8"), 10.0);
    write("lock_contended/tokio/8", "run1", Some("8"), 20.0);
    write("lock_contended/warden/8", "new", Some("8"), 99.0);
    let found = report::load(&root, "run1").unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[1].row(), "lock_contended/8");
    assert_eq!(
        (found[1].function.as_str(), found[1].median_ns),
        ("warden", 10.0)
    );
    let when = report::last_run(&root, "run1").unwrap().unwrap();
    assert!(when.elapsed().unwrap() < Duration::from_mins(10));
    assert!(report::last_run(&root, "run9").unwrap().is_none());
}
