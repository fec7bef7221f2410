#![forbid(unsafe_code)]
//! The `ccmulti` binary: the edge where errors become messages and exit codes.

mod cli;

/// Every request allocates and frees many small pieces (JSON, headers,
/// futures); mimalloc's per-thread free lists cost less than glibc's arenas
/// (BENCHMARKS.md, "HTTP under wrk").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            cli::out::errln!("ccmulti: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
