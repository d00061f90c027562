//! Builds the book with mdBook as a library, so `cargo test` fails on a
//! book that does not build (a missing chapter, a broken include).

use std::path::{Path, PathBuf};

use mdbook_driver::MDBook;
use mdbook_driver::config::Config;

#[test]
fn book_builds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::from_disk(root.join("book.toml")).expect("book.toml parses");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("book");
    config.build.build_dir.clone_from(&out);
    let book = MDBook::load_with_config(root, config).expect("the book loads");
    book.build().expect("the book builds");
    let index = std::fs::read_to_string(out.join("index.html")).expect("index.html written");
    assert!(index.contains("From Python threading to async Rust"));
}
