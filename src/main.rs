#![forbid(unsafe_code)]
//! The `ccmulti` binary: the edge where errors become messages and exit codes.

mod cli;

fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ccmulti: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
