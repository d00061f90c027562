//! Every listing in `examples/` is registered in `Cargo.toml` with
//! `test = true`, so `cargo test` runs it (an unregistered example would
//! be built but never run).

use std::path::Path;

#[test]
fn every_example_runs_under_cargo_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut count = 0;
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue; // `shared/`: modules the listings include
        }
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let entry = format!("name = \"{stem}\"\npath = \"examples/{stem}.rs\"\ntest = true\n");
        assert!(
            manifest.contains(&entry),
            "register examples/{stem}.rs in Cargo.toml:\n[[example]]\n{entry}"
        );
        count += 1;
    }
    assert!(count >= 20, "only {count} listings found");
}
