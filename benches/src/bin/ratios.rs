//! Prints warden's benchmark ratios from criterion's saved estimates, and
//! optionally writes them as Markdown and as an SVG bar chart.
//!
//! ```text
//! cargo run -p warden-benches --bin ratios [-- [OPTIONS] [BASELINE ...]]
//!
//!   --dir DIR        criterion's results (default $CARGO_TARGET_DIR/criterion,
//!                    else target/criterion)
//!   --markdown FILE  write the ratio table and the targets as Markdown
//!   --svg FILE       write a bar chart of the ratios as SVG
//!   --readme FILE    rewrite the targets table between FILE's
//!                    `<!-- ratios:begin -->` / `<!-- ratios:end -->` lines
//!   --machine TEXT   the machine, for the Markdown caption ("2 cores, x86_64")
//! ```
//!
//! `BASELINE` defaults to `new`, the last run. Give several baselines
//! (saved with criterion's `--save-baseline NAME`) to get the median ratio
//! over repeated runs. The terminal table is always printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::{fs, io};

use warden_benches::report::{self, Provenance};

const USAGE: &str = "usage: ratios [--dir CRITERION_DIR] [--markdown FILE] [--svg FILE] \
                     [--readme FILE] [--machine TEXT] [BASELINE ...]";

#[derive(Default)]
struct Options {
    dir: Option<PathBuf>,
    markdown: Option<PathBuf>,
    svg: Option<PathBuf>,
    readme: Option<PathBuf>,
    machine: Option<String>,
    baselines: Vec<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options::default();
    while let Some(arg) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .ok_or_else(|| format!("{arg} needs {what}\n{USAGE}"))
        };
        match arg.as_str() {
            "--dir" => o.dir = Some(value("a directory")?.into()),
            "--markdown" => o.markdown = Some(value("a file")?.into()),
            "--svg" => o.svg = Some(value("a file")?.into()),
            "--readme" => o.readme = Some(value("a file")?.into()),
            "--machine" => o.machine = Some(value("a description")?),
            "-h" | "--help" => return Ok(None),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{USAGE}")),
            _ => o.baselines.push(arg),
        }
    }
    if o.baselines.is_empty() {
        o.baselines.push("new".to_owned());
    }
    Ok(Some(o))
}

/// The error, with the file it is about.
fn about(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> io::Result<()> {
    fs::write(path, text).map_err(about(path))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() -> ExitCode {
    let o = match parse(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ratios: {e}");
            return ExitCode::FAILURE;
        }
    };
    let dir = o.dir.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
            .join("criterion")
    });
    let mut runs = Vec::new();
    let mut newest = None;
    for baseline in &o.baselines {
        let found = report::load(&dir, baseline)
            .and_then(|found| Ok((found, report::last_run(&dir, baseline)?)));
        match found {
            Ok((found, _)) if found.is_empty() => {
                eprintln!(
                    "ratios: no results for baseline `{baseline}` under {}",
                    dir.display()
                );
                return ExitCode::FAILURE;
            }
            Ok((found, when)) => {
                runs.push(found);
                newest = newest.max(when);
            }
            Err(e) => {
                eprintln!("ratios: reading {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let runs = report::collect(&runs);
    print!("{}", report::table(&runs, o.baselines.len()));
    println!();
    print!("{}", report::targets(&runs));

    let provenance = Provenance {
        baselines: o.baselines.clone(),
        date: newest.map(report::utc_date),
        machine: o.machine.clone(),
    };
    match write_files(&o, &runs, &provenance) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ratios: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_files(o: &Options, runs: &report::Runs, provenance: &Provenance) -> io::Result<()> {
    if o.markdown.is_some() || o.svg.is_some() || o.readme.is_some() {
        println!();
    }
    if let Some(path) = &o.markdown {
        write(path, &report::markdown(runs, provenance))?;
    }
    if let Some(path) = &o.svg {
        let title = "warden ÷ peer, median time per iteration (lower is faster)";
        write(path, &report::svg(runs, title))?;
    }
    if let Some(path) = &o.readme {
        let text = fs::read_to_string(path).map_err(about(path))?;
        let (begin, end) = report::README_MARKERS;
        let summary = report::markdown_summary(runs, provenance);
        let Some(text) = report::splice(&text, begin, end, &summary) else {
            return Err(io::Error::other(format!(
                "{}: no `{begin}` ... `{end}` lines to write between",
                path.display()
            )));
        };
        write(path, &text)?;
    }
    Ok(())
}
