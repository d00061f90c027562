//! `cargo run --example bank_server -- [OPTIONS]`: the same program as the
//! `bank_server` binary (`src/main.rs`), under the name the README uses.

fn main() -> std::process::ExitCode {
    bank_server::cli::main()
}
