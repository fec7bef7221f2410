//! The git guard in a real temporary repository: `ccmulti install-git-hook`
//! writes the pre-commit hook, and real `git commit` runs the real binary
//! against a real coordinator.

use std::path::Path;
use std::process::{Command, Output};

use ccmulti_testkit::tools::git;
use ccmulti_testkit::*;

on_both_backends!(a_commit_of_a_held_file_is_refused_and_others_pass);

fn ok(output: &Output) -> String {
    let text = ccmulti_testkit::tools::said(output);
    assert!(output.status.success(), "{text}");
    text
}

fn ccmulti(args: &[&str]) -> Output {
    Command::new(ccmulti_testkit::ccmulti_binary())
        .args(args)
        .output()
        .expect("run ccmulti")
}

fn write(repo: &Path, file: &str, text: &str) {
    let path = repo.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn init(repo: &Path) {
    ok(&git(repo, &["init", "-q"], &[]));
    write(repo, "src/cart.rs", "fn total() {}\n");
    write(repo, "src/free.rs", "fn free() {}\n");
    ok(&git(repo, &["add", "."], &[]));
    ok(&git(repo, &["commit", "-q", "-m", "start"], &[]));
}

// On the macro's two-thread runtime: git (blocking) runs the hook, which
// calls the server on this runtime.
async fn a_commit_of_a_held_file_is_refused_and_others_pass(backend: Backend) {
    let server = backend.start().await;
    let repo = server.root.clone();
    init(&repo);
    let root = repo.display().to_string();
    let installed = ccmulti(&["install-git-hook", "--root", &root]);
    assert!(
        String::from_utf8_lossy(&installed.stdout).contains("installed"),
        "{installed:?}"
    );
    let again = ccmulti(&["install-git-hook", "--root", &root]);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("unchanged"),
        "{again:?}"
    );

    hold(&server, "impl_b", "src/cart.rs").await;
    let me = "u1__session__s1__impl_a";
    let env = [("CCMULTI_AGENT", me), ("CCMULTI_URL", server.base.as_str())];

    write(&repo, "src/cart.rs", "fn total() -> u64 { 0 }\n");
    ok(&git(&repo, &["add", "src/cart.rs"], &[]));
    let refused = git(&repo, &["commit", "-q", "-m", "cart"], &env);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("src/cart.rs  held by impl_b (write, 1"),
        "{stderr}"
    );
    assert!(stderr.contains("CCMULTI_GIT_GUARD=off"), "{stderr}");

    // Another file passes.
    ok(&git(&repo, &["restore", "--staged", "src/cart.rs"], &[]));
    write(&repo, "src/free.rs", "fn free() -> bool { true }\n");
    ok(&git(&repo, &["add", "src/free.rs"], &[]));
    ok(&git(&repo, &["commit", "-q", "-m", "free"], &env));

    // The holder itself may commit it.
    ok(&git(&repo, &["add", "src/cart.rs"], &[]));
    let holder = [
        ("CCMULTI_AGENT", "u1__session__s1__impl_b"),
        ("CCMULTI_URL", server.base.as_str()),
    ];
    ok(&git(
        &repo,
        &["commit", "-q", "-m", "cart by its holder"],
        &holder,
    ));

    // The bypass lets a held file through and says so; so does a terminal that is no agent.
    write(&repo, "src/cart.rs", "fn total() -> u32 { 1 }\n");
    ok(&git(&repo, &["add", "src/cart.rs"], &[]));
    let bypass = [env[0], env[1], ("CCMULTI_GIT_GUARD", "off")];
    let text = ok(&git(&repo, &["commit", "-q", "-m", "bypass"], &bypass));
    assert!(text.contains("bypassed (CCMULTI_GIT_GUARD=off)"), "{text}");
    write(&repo, "src/cart.rs", "fn total() -> u32 { 2 }\n");
    ok(&git(&repo, &["add", "src/cart.rs"], &[]));
    ok(&git(
        &repo,
        &["commit", "-q", "-m", "a person's commit"],
        &[("CCMULTI_URL", server.base.as_str())],
    ));
}

#[test]
fn the_installer_leaves_a_foreign_hook_alone_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    ok(&git(repo, &["init", "-q"], &[]));
    let hook = repo.join(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().expect("parent")).expect("mkdir");
    let foreign = "#!/bin/sh\ntouch \"$(dirname \"$0\")/../previous-hook-ran\"\n";
    std::fs::write(&hook, foreign).expect("write hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let root = repo.display().to_string();

    let refused = ccmulti(&["install-git-hook", "--root", &root]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("is not ccmulti's; nothing was changed") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&hook).expect("read"), foreign);

    let forced = ccmulti(&["install-git-hook", "--root", &root, "--force"]);
    assert!(forced.status.success(), "{forced:?}");
    assert!(
        std::fs::read_to_string(&hook)
            .expect("read")
            .contains("hook pre-commit")
    );
    assert_eq!(
        std::fs::read_to_string(repo.join(".git/hooks/pre-commit.before-ccmulti")).expect("backup"),
        foreign
    );

    // The guard passes (no CCMULTI_AGENT here), then the user's own hook still runs.
    write(repo, "a.txt", "a\n");
    ok(&git(repo, &["add", "a.txt"], &[]));
    ok(&git(repo, &["commit", "-q", "-m", "with both hooks"], &[]));
    assert!(
        repo.join(".git/previous-hook-ran").exists(),
        "the moved hook ran"
    );

    // A second foreign hook is not allowed to overwrite the kept one.
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("write hook");
    let again = ccmulti(&["install-git-hook", "--root", &root, "--force"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds an earlier hook"));
}
