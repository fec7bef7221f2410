//! Clients we did not write, against the real binary: the official Python and
//! TypeScript MCP SDKs, Claude Code's own `claude mcp list`, Claude Code
//! accepting the hooks `ccmulti connect --write` merges into its settings, and
//! Claude Code reaching a coordinator that requires a token.
//! Their dependencies are installed by `.ci/run`; without them this test says
//! it was skipped and what to install (`.ci/run` makes it mandatory).

use std::process::Command;

use ccmulti_testkit::interop::{Client, available};

#[test]
fn official_sdks_and_claude_code_connect_and_coordinate() {
    if !available(
        "interop::official_sdks_and_claude_code_connect_and_coordinate",
        &[Client::PythonSdk, Client::TypeScriptSdk, Client::ClaudeCode],
    ) {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/run.sh");
    let output = Command::new("bash")
        .arg(script)
        .env("CCMULTI", env!("CARGO_BIN_EXE_ccmulti"))
        .output()
        .expect("running tests/interop/run.sh");
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
