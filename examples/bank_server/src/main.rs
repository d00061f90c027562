//! `bank_server`: the bank over HTTP/JSON on 127.0.0.1 (see the library's
//! documentation, and `bank_server --help`).

fn main() -> std::process::ExitCode {
    bank_server::cli::main()
}
