//! Builds the book with mdBook as a library, so `cargo test` fails on a
//! book that does not build (a missing chapter), and checks what mdBook
//! itself lets through:
//!
//! * an `{{#include}}` of a missing file, or of an anchor the file does
//!   not have (mdBook logs the first and silently includes nothing for the
//!   second);
//! * a Rust (or Python) code block that is not included from a compiled,
//!   tested listing (the rule: a ```` ```rust,ignore ```` or
//!   ```` ```python ```` fence holds only `{{#include}}` lines; output goes
//!   in ```` ```text ```` or ```` ```console ```` fences), or a fence with
//!   no language, which could hide either;
//! * a listing nobody includes, or a `#[guarded]` compile error the
//!   appendix of `#[guarded]` errors does not show;
//! * a link to a page, file or `#anchor` of the book that does not exist.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use mdbook_driver::MDBook;
use mdbook_driver::config::Config;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the book once per test run; returns its output directory.
fn built() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let mut config = Config::from_disk(root().join("book.toml")).expect("book.toml parses");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("book");
        config.build.build_dir.clone_from(&out);
        let book = MDBook::load_with_config(root(), config).expect("the book loads");
        book.build().expect("the book builds");
        out
    })
}

/// Every chapter source: `(file name, text)`.
fn chapters() -> Vec<(String, String)> {
    let mut chapters: Vec<_> = fs::read_dir(root().join("src"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect();
    chapters.sort();
    chapters
}

/// The `{{#include path[:anchor-or-lines]}}` directives of a chapter.
fn includes(text: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#include ") {
        let after = &rest[start + "{{#include ".len()..];
        let end = after.find("}}").expect("an include is closed with }}");
        let spec = after[..end].trim();
        let (path, selector) = match spec.split_once(':') {
            Some((path, selector)) => (path, Some(selector.to_owned())),
            None => (spec, None),
        };
        found.push((path.to_owned(), selector));
        rest = &after[end..];
    }
    found
}

/// Lexically normalizes `a/b/../c` to `a/c` (no symlinks involved).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn book_builds() {
    let index = fs::read_to_string(built().join("index.html")).expect("index.html written");
    assert!(index.contains("From Python threading to async Rust"));
}

#[test]
fn includes_resolve() {
    let src = root().join("src");
    for (chapter, text) in chapters() {
        for (path, selector) in includes(&text) {
            let file = normalize(&src.join(&path));
            let listing = fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{chapter}: {{{{#include {path}}}}}: {e}"));
            let Some(selector) = selector else { continue };
            let is_line_range = selector.chars().all(|c| c.is_ascii_digit() || c == ':');
            if is_line_range {
                continue;
            }
            for marker in [
                format!("ANCHOR: {selector}"),
                format!("ANCHOR_END: {selector}"),
            ] {
                assert!(
                    listing
                        .lines()
                        .any(|line| line.trim_end().ends_with(&marker)),
                    "{chapter}: {path} has no `{marker}`"
                );
            }
        }
    }
    // mdBook leaves an include it could not resolve in the page, as text.
    for page in html_pages() {
        let html = fs::read_to_string(&page).unwrap();
        assert!(
            !html.contains("{{#include") && !html.contains("{{#rustdoc_include"),
            "{}: an include was not resolved",
            page.display()
        );
    }
}

#[test]
fn code_blocks_are_tested_listings_or_output() {
    for (chapter, text) in chapters() {
        let mut fence: Option<(usize, String)> = None;
        for (number, line) in text.lines().enumerate() {
            let line_no = number + 1;
            let trimmed = line.trim_start();
            if let Some(info) = trimmed.strip_prefix("```") {
                match &fence {
                    None => {
                        let info = info.trim().to_owned();
                        assert!(
                            !info.is_empty(),
                            "{chapter}:{line_no}: a code block without a language: say \
                             ```text, ```console, ```sh, ... (Rust goes in ```rust,ignore)"
                        );
                        assert!(
                            !info.starts_with("rust") || info == "rust,ignore",
                            "{chapter}:{line_no}: a ```{info} block: Rust code is included \
                             from a tested listing, in a ```rust,ignore block"
                        );
                        fence = Some((line_no, info));
                    }
                    Some(_) => fence = None,
                }
                continue;
            }
            if let Some((opened, info)) = &fence {
                let must_include = info == "rust,ignore" || info == "python";
                let is_include = trimmed.starts_with("{{#include ") && trimmed.ends_with("}}");
                assert!(
                    !must_include || trimmed.is_empty() || is_include,
                    "{chapter}:{line_no}: the ```{info} block opened at line {opened} has \
                     inline code; put it in a tested file (book/listings, examples/) and \
                     include it"
                );
            }
        }
        assert!(fence.is_none(), "{chapter}: a code block is not closed");
    }
}

#[test]
fn every_listing_is_in_the_book() {
    let src = root().join("src");
    let included: BTreeSet<PathBuf> = chapters()
        .iter()
        .flat_map(|(_, text)| includes(text))
        .map(|(path, _)| normalize(&src.join(path)))
        .collect();
    let listings = root().join("listings");
    for dir in ["examples", "examples/shared", "python"] {
        for entry in fs::read_dir(listings.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let is_listing = path
                .extension()
                .is_some_and(|ext| ext == "rs" || ext == "py");
            // `quiet.rs` only silences expected panics in the listings' tests.
            if is_listing && !path.ends_with("shared/quiet.rs") {
                assert!(
                    included.contains(&normalize(&path)),
                    "{} is not included by any chapter",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn every_guarded_compile_error_is_in_the_book() {
    // The catalogue is the appendix; the chapter shows the four most common.
    let guarded = fs::read_to_string(root().join("src/guarded-errors.md")).unwrap();
    let ui = root().join("../tests/tests/ui/guarded");
    for entry in fs::read_dir(&ui).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "stderr") {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                guarded.contains(&format!("ui/guarded/{name}}}}}")),
                "tests/tests/ui/guarded/{name} is a #[guarded] compile error the \
                 appendix of `#[guarded]` errors (book/src/guarded-errors.md) does not show"
            );
        }
    }
}

/// Every HTML page of the built book.
fn html_pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, pages: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, pages);
            } else if path.extension().is_some_and(|ext| ext == "html") {
                pages.push(path);
            }
        }
    }
    let mut pages = Vec::new();
    walk(built(), &mut pages);
    pages.sort();
    pages
}

/// The values of every `href="..."` and `src="..."` attribute.
fn link_targets(html: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    for attribute in [" href=\"", " src=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            let after = &rest[start + attribute.len()..];
            let end = after.find('"').expect("a closed attribute");
            targets.push(&after[..end]);
            rest = &after[end..];
        }
    }
    targets
}

fn has_id(html: &str, id: &str) -> bool {
    html.contains(&format!("id=\"{id}\"")) || html.contains(&format!("name=\"{id}\""))
}

#[test]
fn internal_links_resolve() {
    let out = built();
    let mut checked = 0;
    for page in html_pages() {
        let html = fs::read_to_string(&page).unwrap();
        // mdBook's 404 page resolves its links against the site root.
        let base = if html.contains("<base href=\"/\"") {
            out.to_path_buf()
        } else {
            page.parent().unwrap().to_path_buf()
        };
        for target in link_targets(&html) {
            let external = [
                "http://",
                "https://",
                "mailto:",
                "//",
                "data:",
                "javascript:",
            ]
            .iter()
            .any(|scheme| target.starts_with(scheme));
            if external || target.is_empty() {
                continue;
            }
            let target = target.split('?').next().unwrap();
            let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = if path.is_empty() {
                page.clone()
            } else {
                // Root-relative (`/`, `/print.html`): against the book's root.
                let file = match path.strip_prefix('/') {
                    Some(from_root) => normalize(&out.join(from_root)),
                    None => normalize(&base.join(path)),
                };
                if path.ends_with('/') {
                    file.join("index.html")
                } else {
                    file
                }
            };
            assert!(
                file.is_file(),
                "{}: link to `{target}`: {} does not exist",
                page.display(),
                file.display()
            );
            if !fragment.is_empty() && file.extension().is_some_and(|ext| ext == "html") {
                let linked = fs::read_to_string(&file).unwrap();
                assert!(
                    has_id(&linked, fragment),
                    "{}: link to `{target}`: no id `{fragment}` in {}",
                    page.display(),
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 100,
        "only {checked} links checked: is the scan broken?"
    );
}
