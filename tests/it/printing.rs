//! What the commands print: a reader that goes away (`ccmulti status | head
//! -1`) ends nothing in a panic, and each command's help shows the options it
//! takes (the server's only on the commands that serve or start a coordinator).
//! SQLite only: the output, not the backend, is under test.

use std::io::Read;
use std::process::Stdio;

use ccmulti_testkit::claude::ccmulti;

/// Runs `args` with its stdout closed before it writes a byte; (exit code, stderr).
fn with_stdout_closed(args: &[&str]) -> (Option<i32>, String) {
    let mut child = ccmulti()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ccmulti");
    // The reader goes away at once: every write the command makes meets a closed pipe.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    (child.wait().expect("wait").code(), stderr)
}

fn help(args: &[&str]) -> String {
    let out = ccmulti().args(args).output().expect("run ccmulti");
    assert!(out.status.success(), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_printing_command_exits_0_when_its_reader_has_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let db = db.to_str().expect("utf-8 path");
    let root = ccmulti_testkit::interop::repo();
    let root = root.to_str().expect("utf-8 path");
    let tasks = dir.path().join("tasks.txt");
    std::fs::write(
        &tasks,
        "1. Add rate limiting to src/http\n2. Export invoices from src/store\n",
    )
    .expect("tasks");
    let tasks = tasks.to_str().expect("utf-8 path");
    // A database with a session, agents and tasks: `plan` records them.
    let planned = ccmulti()
        .args(["plan", "--db", db, "--root", root, "--session", "s1", tasks])
        .output()
        .expect("plan");
    assert!(
        planned.status.success(),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    for args in [
        &["status", "--db", db][..],
        &["status", "--db", db, "--session", "s1"],
        &["db", "verify", "--db", db],
        &["connect", "--session", "s1", "--agent", "a"],
        &["plan", "--db", db, "--root", root, "--dry-run", tasks],
        &["--help"],
        &["status", "--help"],
        &["--version"],
    ] {
        let (code, stderr) = with_stdout_closed(args);
        assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
        assert_eq!(code, Some(0), "{args:?}:\n{stderr}");
    }
}

#[test]
fn status_help_fits_on_a_screen_and_names_no_server_option() {
    let status = help(&["status", "--help"]);
    assert!(
        status.lines().count() < 20,
        "status --help is {} lines:\n{status}",
        status.lines().count()
    );
    for (command, help) in [
        ("status", status),
        ("release", help(&["release", "--help"])),
        ("db verify", help(&["db", "verify", "--help"])),
        ("install-git-hook", help(&["install-git-hook", "--help"])),
    ] {
        for server_only in [
            "--allow-host",
            "--allow-origin",
            "--admit-client",
            "--keep-events",
            "--max-agents-per-session",
            "--header-read-timeout",
        ] {
            assert!(
                !help.contains(server_only),
                "{command} --help lists {server_only}:\n{help}"
            );
        }
    }
    // The commands that serve keep every server option; `team`, which starts
    // a coordinator, takes them too and says where they are described.
    let team = help(&["team", "--help"]);
    assert!(
        team.contains("see `ccmulti serve --help`") && team.contains("--max-*"),
        "{team}"
    );
    for command in ["serve", "up"] {
        let help = help(&[command, "--help"]);
        for option in [
            "--allow-host",
            "--keep-events",
            "--max-waiting-claims",
            "CCMULTI_MAX_WAITING_CLAIMS",
        ] {
            assert!(
                help.contains(option),
                "{command} --help lacks {option}:\n{help}"
            );
        }
    }
}

#[test]
fn user_shows_one_default() {
    let help = help(&["team", "status", "--help"]);
    let user = help
        .lines()
        .find(|l| l.contains("--user"))
        .expect("--user in team status --help");
    assert_eq!(user.matches("default").count(), 1, "{user}");
}
