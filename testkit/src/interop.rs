//! Clients we did not write (the official Python and TypeScript SDKs, Claude
//! Code) are installed by `.ci/run`. A plain `cargo test` on a fresh clone
//! has none of them: the tests that need them say they were skipped and why,
//! unless `CCMULTI_REQUIRE_INTEROP=1` (which `.ci/run` sets) makes them mandatory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set by `.ci/run`: a missing client is then a failure, not a skip.
pub const REQUIRE_ENV: &str = "CCMULTI_REQUIRE_INTEROP";

/// The repository's root (the testkit crate sits in it).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit sits in the repository")
        .to_owned()
}

/// The pinned Claude Code CLI that `tests/interop/claude` installs.
pub fn claude_code() -> PathBuf {
    repo().join("tests/interop/claude/node_modules/.bin/claude")
}

/// What of `needs` is not installed here, each with how to install it.
pub fn missing(needs: &[Client]) -> Vec<String> {
    needs
        .iter()
        .filter(|c| !c.installed())
        .map(|c| c.install_hint().to_owned())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    PythonSdk,
    TypeScriptSdk,
    ClaudeCode,
    Tmux,
    /// Runs the model stand-in of the end-to-end tests (tests/interop/fake_anthropic.py).
    Python,
}

impl Client {
    fn installed(self) -> bool {
        match self {
            Client::PythonSdk => Command::new("python3")
                .args(["-c", "import mcp"])
                .output()
                .is_ok_and(|o| o.status.success()),
            Client::TypeScriptSdk => repo()
                .join("tests/interop/typescript/node_modules/@modelcontextprotocol/sdk")
                .is_dir(),
            Client::ClaudeCode => claude_code().exists(),
            Client::Tmux => Command::new("tmux")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success()),
            Client::Python => Command::new("python3")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
        }
    }

    fn install_hint(self) -> &'static str {
        match self {
            Client::PythonSdk => {
                "the MCP Python SDK (pip install -r tests/interop/python/requirements.txt)"
            }
            Client::TypeScriptSdk => {
                "the MCP TypeScript SDK (cd tests/interop/typescript && npm ci)"
            }
            Client::ClaudeCode => "Claude Code (cd tests/interop/claude && npm ci)",
            Client::Tmux => "tmux (apt-get install tmux)",
            Client::Python => "python3 (apt-get install python3)",
        }
    }
}

/// True when every client in `needs` is here. Otherwise prints a line naming
/// the test, what is missing and how to install it, and returns false; with
/// `CCMULTI_REQUIRE_INTEROP=1` it fails the test instead.
pub fn available(test: &str, needs: &[Client]) -> bool {
    let missing = missing(needs);
    if missing.is_empty() {
        return true;
    }
    skip_unless_required(test, &format!("not installed: {}", missing.join("; ")));
    false
}

/// A test that cannot run here (`why`): prints a line saying so and returns,
/// or, with `CCMULTI_REQUIRE_INTEROP=1` (as `.ci/run` sets), fails the test.
pub fn skip_unless_required(test: &str, why: &str) {
    if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
        panic!("{test}: {REQUIRE_ENV}=1 but {why}");
    }
    // Straight to stderr, not eprintln!: the test harness hides a passing test's
    // eprintln!, and a skip must show in a plain `cargo test`.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {why}. `.ci/run` has everything and makes this test mandatory."
    );
}
