//! Clients we did not write, against the real binary: the official Python and
//! TypeScript MCP SDKs, Claude Code's own `claude mcp list`, Claude Code
//! accepting the hooks `ccmulti connect --write` merges into its settings, and
//! Claude Code reaching a coordinator that requires a token; on SQLite, and
//! with the coordinators on PostgreSQL (the testkit's server).
//! Their dependencies are installed by `.ci/run`; without them this test says
//! it was skipped and what to install (`.ci/run` makes it mandatory).

use std::process::Command;

use ccmulti_testkit::Backend;
use ccmulti_testkit::interop::{Client, available};

on_both_backends!(blocking: official_sdks_and_claude_code_connect_and_coordinate);

fn official_sdks_and_claude_code_connect_and_coordinate(backend: Backend) {
    if !available(
        "interop::official_sdks_and_claude_code_connect_and_coordinate",
        &[Client::PythonSdk, Client::TypeScriptSdk, Client::ClaudeCode],
    ) {
        return;
    }
    run_checks(match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(ccmulti_testpg::database()),
    });
}

/// tests/interop/run.sh, its coordinators on `postgres` if given.
fn run_checks(postgres: Option<String>) {
    let script = ccmulti_testkit::interop::repo().join("tests/interop/run.sh");
    let mut command = Command::new("bash");
    command
        .arg(&script)
        .env("CCMULTI", ccmulti_testkit::ccmulti_binary())
        .env_remove("CCMULTI_INTEROP_DB");
    if let Some(url) = &postgres {
        println!("interop checks with the coordinator on PostgreSQL");
        command.env("CCMULTI_INTEROP_DB", url);
    }
    let output = command.output().expect("running tests/interop/run.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "interop checks failed (dependencies: .ci/run installs them)\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("interop: 5 passed, 0 failed"), "{stdout}");
}
