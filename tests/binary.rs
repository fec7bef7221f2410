//! The built binary answers as a command line: its version, and a clear
//! refusal of a command it does not have. The wider integration tests live in
//! the ccmulti-tests package (tests/Cargo.toml); this one stays here because
//! cargo builds a package's binary for that package's own integration tests,
//! so `cargo test --workspace` builds the binary those tests run.

use std::process::Command;

#[test]
fn the_binary_tells_its_version_and_refuses_an_unknown_command() {
    let binary = env!("CARGO_BIN_EXE_ccmulti");
    let version = Command::new(binary)
        .arg("--version")
        .output()
        .expect("run ccmulti --version");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("ccmulti {}", env!("CARGO_PKG_VERSION"))
    );

    let unknown = Command::new(binary)
        .arg("frobnicate")
        .output()
        .expect("run ccmulti frobnicate");
    assert_eq!(unknown.status.code(), Some(2));
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        said.contains("unrecognized subcommand 'frobnicate'"),
        "{said}"
    );
    assert!(said.contains("--help"), "{said}");
}
