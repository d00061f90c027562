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
//! * a link to a page, file or `#anchor` of the book that does not exist;
//! * a listing shown without the link to its full file, an excerpt that
//!   keeps its indentation, or a chapter whose first excerpt of a file
//!   hides the file's `use` lines;
//! * a stale copy of a listing under `src/listings/` (mdBook publishes
//!   only `src/`, so the links to full files point at copies there);
//! * anything mdBook warns about while it builds (an HTML tag it cannot
//!   close, such as `Lock<T>` written outside backticks, a footnote, ...).

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use mdbook_driver::MDBook;
use mdbook_driver::config::Config;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The book, built once per test run.
struct Built {
    /// The output directory.
    out: PathBuf,
    /// What mdBook logged at WARN or ERROR level while building.
    warnings: Vec<String>,
    /// The full-file copies under `src/listings/` that were out of date
    /// (and have been rewritten or removed).
    refreshed: Vec<String>,
}

/// Builds the book once per test run; returns its output directory.
fn built() -> &'static Path {
    &build().out
}

fn build() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let refreshed = sync_full_file_copies();
        let mut config = Config::from_disk(root().join("book.toml")).expect("book.toml parses");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("book");
        config.build.build_dir.clone_from(&out);
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let collector = WarningCollector(warnings.clone());
        // mdBook logs through `tracing` on the thread that builds.
        tracing::subscriber::with_default(collector, || {
            let book = MDBook::load_with_config(root(), config).expect("the book loads");
            book.build().expect("the book builds");
        });
        let warnings = warnings.lock().unwrap().clone();
        Built {
            out,
            warnings,
            refreshed,
        }
    })
}

/// A `tracing` subscriber that keeps every WARN and ERROR event's text.
struct WarningCollector(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for WarningCollector {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        struct Text(String);
        impl tracing::field::Visit for Text {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                if !self.0.is_empty() {
                    self.0.push_str(", ");
                }
                if field.name() == "message" {
                    let _ = write!(self.0, "{value:?}");
                } else {
                    let _ = write!(self.0, "{} = {value:?}", field.name());
                }
            }
        }
        let mut text = Text(String::new());
        event.record(&mut text);
        let level = event.metadata().level();
        self.0.lock().unwrap().push(format!("{level}: {}", text.0));
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn mdbook_does_not_warn() {
    let warnings = &build().warnings;
    assert!(
        warnings.is_empty(),
        "mdBook warned while building the book:\n{}",
        warnings.join("\n")
    );
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

/// Chapters that do not follow the listing rules below (none: every
/// chapter does; kept so a chapter being rewritten can be listed here for
/// the time of the rewrite).
const NOT_YET_CONVERTED: &[&str] = &[];

/// The listings a reader can open in full, relative to `listings/`:
/// every Rust and Python file of `examples/` (with `shared/`) and `python/`.
fn listing_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, base: &Path, files: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, files);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "rs" || ext == "py")
            {
                files.push(path.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let base = root().join("listings");
    let mut files = Vec::new();
    walk(&base.join("examples"), &base, &mut files);
    walk(&base.join("python"), &base, &mut files);
    files.sort();
    files
}

/// Makes `src/listings/` an exact copy of the listings (mdBook publishes
/// only `src/`); returns the files it had to write or remove.
fn sync_full_file_copies() -> Vec<String> {
    let copies = root().join("src/listings");
    let mut refreshed = Vec::new();
    let wanted = listing_files();
    for file in &wanted {
        let text = fs::read_to_string(root().join("listings").join(file)).unwrap();
        let copy = copies.join(file);
        if fs::read_to_string(&copy).ok().as_deref() != Some(text.as_str()) {
            fs::create_dir_all(copy.parent().unwrap()).unwrap();
            fs::write(&copy, text).unwrap();
            refreshed.push(format!("wrote src/listings/{}", file.display()));
        }
    }
    remove_extra(&copies, &copies, &wanted, &mut refreshed);
    refreshed
}

/// Removes what is under `dir` but not in `wanted` (relative to `base`).
fn remove_extra(dir: &Path, base: &Path, wanted: &[PathBuf], refreshed: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(base).unwrap().to_path_buf();
        if path.is_dir() {
            remove_extra(&path, base, wanted, refreshed);
            if fs::read_dir(&path).unwrap().next().is_none() {
                fs::remove_dir(&path).unwrap();
            }
        } else if !wanted.contains(&relative) {
            fs::remove_file(&path).unwrap();
            refreshed.push(format!("removed src/listings/{}", relative.display()));
        }
    }
}

#[test]
fn full_file_copies_are_current() {
    let refreshed = &build().refreshed;
    assert!(
        refreshed.is_empty(),
        "book/src/listings/ (the full files the book links to) was out of date; this \
         run brought it up to date -- commit it:\n{}",
        refreshed.join("\n")
    );
}

/// A fenced code block of a chapter: its first line number, its info
/// string, and its lines.
struct Fence<'a> {
    line_no: usize,
    info: &'a str,
    body: Vec<&'a str>,
    /// The last non-blank line before the fence.
    before: &'a str,
}

fn fences(text: &str) -> Vec<Fence<'_>> {
    let mut found = Vec::new();
    let mut open: Option<Fence<'_>> = None;
    let mut before = "";
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match open.take() {
                None => {
                    open = Some(Fence {
                        line_no: number + 1,
                        info: info.trim(),
                        body: Vec::new(),
                        before,
                    });
                }
                Some(fence) => found.push(fence),
            }
        } else if let Some(fence) = &mut open {
            fence.body.push(line);
        } else if !trimmed.is_empty() {
            before = line;
        }
    }
    found
}

/// The lines of `text` between `ANCHOR: name` and `ANCHOR_END: name`,
/// without anchor lines, as mdBook includes them.
fn anchored<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let is_marker = |line: &str, kind: &str| {
        line.split_once(kind)
            .is_some_and(|(_, rest)| rest.trim() == name)
    };
    text.lines()
        .skip_while(|line| !is_marker(line, "ANCHOR: "))
        .skip(1)
        .take_while(|line| !is_marker(line, "ANCHOR_END: "))
        .filter(|line| !line.contains("ANCHOR: ") && !line.contains("ANCHOR_END: "))
        .collect()
}

/// The listing (relative to `listings/`) a chapter's include names, if it
/// is one of `listings/examples` or `listings/python`.
fn listing_of(include: &str) -> Option<PathBuf> {
    let path = normalize(&root().join("src").join(include));
    let relative = path.strip_prefix(root().join("listings")).ok()?;
    let top = relative.components().next()?;
    (top.as_os_str() == "examples" || top.as_os_str() == "python").then(|| relative.to_path_buf())
}

#[test]
fn every_listing_names_its_full_file() {
    let mut checked = 0;
    for (chapter, text) in chapters() {
        if NOT_YET_CONVERTED.contains(&chapter.as_str()) {
            continue;
        }
        for fence in fences(&text) {
            if fence.info != "rust,ignore" && fence.info != "python" {
                continue;
            }
            let files: BTreeSet<PathBuf> = includes(&fence.body.join("\n"))
                .iter()
                .filter_map(|(path, _)| listing_of(path))
                .collect();
            let Some(file) = files.first() else { continue };
            assert_eq!(
                files.len(),
                1,
                "{chapter}:{}: one code block shows one listing file",
                fence.line_no
            );
            let link = format!("](listings/{})", file.display());
            assert!(
                fence.before.contains(&link),
                "{chapter}:{}: a listing from {} without a link to its full file right \
                 above it; write\n<span class=\"listing-file\">[book/listings/{1}]\
                 (listings/{1})</span>",
                fence.line_no,
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} listings found");
}

#[test]
fn excerpts_are_dedented() {
    for (chapter, text) in chapters() {
        if NOT_YET_CONVERTED.contains(&chapter.as_str()) {
            continue;
        }
        for (path, selector) in includes(&text) {
            let (Some(file), Some(anchor)) = (listing_of(&path), selector) else {
                continue;
            };
            let listing = fs::read_to_string(root().join("listings").join(&file)).unwrap();
            let lines = anchored(&listing, &anchor);
            let indent = lines
                .iter()
                .filter(|line| !line.trim().is_empty())
                .map(|line| line.len() - line.trim_start().len())
                .min()
                .unwrap_or(0);
            assert_eq!(
                indent,
                0,
                "{chapter}: {}:{anchor} is indented by {indent}: put the anchors around \
                 whole items, so the excerpt starts at the left margin",
                file.display()
            );
        }
    }
}

#[test]
fn first_excerpt_of_a_file_shows_its_use_lines() {
    for (chapter, text) in chapters() {
        if NOT_YET_CONVERTED.contains(&chapter.as_str()) {
            continue;
        }
        let mut seen = BTreeSet::new();
        for (path, selector) in includes(&text) {
            let Some(file) = listing_of(&path) else {
                continue;
            };
            if file.extension().is_none_or(|ext| ext != "rs") || !seen.insert(file.clone()) {
                continue;
            }
            let listing = fs::read_to_string(root().join("listings").join(&file)).unwrap();
            let uses: Vec<&str> = listing
                .lines()
                .filter(|line| line.starts_with("use ") || line.starts_with("pub use "))
                .collect();
            if uses.is_empty() {
                continue;
            }
            let shown = match selector.as_deref() {
                None => true,
                Some(anchor) => {
                    let excerpt = anchored(&listing, anchor);
                    uses.iter().all(|line| excerpt.contains(line))
                }
            };
            assert!(
                shown,
                "{chapter}: the first excerpt of {} does not show its `use` lines: \
                 begin it with {{{{#include {path}:uses}}}} (an `ANCHOR: uses` around \
                 every `use` line of the file)",
                file.display()
            );
        }
    }
}

#[test]
fn no_anchor_comment_reaches_a_page() {
    for page in html_pages() {
        let html = fs::read_to_string(&page).unwrap();
        assert!(
            !html.contains("ANCHOR:") && !html.contains("ANCHOR_END:"),
            "{}: an anchor comment is shown (a whole-file include of a file with \
             anchors?)",
            page.display()
        );
    }
}
