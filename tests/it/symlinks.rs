//! Lock paths name files, not spellings. The outside run found one agent
//! holding `src/real.py` while another held `src/alias.py → real.py` (both
//! could edit one file), and `linkdir/passwd` lockable through `linkdir →
//! /etc` while `/etc/passwd` was refused. Symlinks are followed now, the
//! same in the tools, the pre-tool hook and the git guard, and for
//! directory and glob locks. On both backends: the claims reach the store.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ccmulti_testkit::tools::git;
use ccmulti_testkit::*;
use serde_json::json;

on_both_backends!(
    a_link_and_its_target_are_one_lock,
    a_link_out_of_the_project_is_refused_like_any_path_outside_it,
    the_hook_and_the_git_guard_follow_links_as_the_tools_do,
);

/// `src/real.py` and its alias, `short → src/real_dir`, and `linkdir` to a
/// directory beside the project (its `passwd` stands for `/etc/passwd`).
fn layout(root: &Path) -> PathBuf {
    use std::os::unix::fs::symlink;
    let outside = root.with_file_name("etc");
    std::fs::create_dir_all(root.join("src/real_dir")).expect("dirs");
    std::fs::create_dir_all(&outside).expect("outside");
    std::fs::write(root.join("src/real.py"), "x = 1\n").expect("file");
    std::fs::write(outside.join("passwd"), "root:x:0:0\n").expect("file");
    symlink("real.py", root.join("src/alias.py")).expect("link");
    symlink("src/real_dir", root.join("short")).expect("link");
    symlink(&outside, root.join("linkdir")).expect("link");
    outside
}

async fn claim(server: &Server, agent: &str, path: &str) -> Reply {
    call_tool(
        &server.agent_url(agent),
        "claim_file_lock",
        json!({ "file_paths": [path] }),
    )
    .await
}

fn conflict_with(reply: &Reply, path: &str, holder: &str) {
    assert_eq!(reply.structured()["success"], false, "{}", reply.text);
    let conflicts = reply.structured()["conflicts"].to_string();
    assert!(
        conflicts.contains(&format!("\"{path}\"")) && conflicts.contains(holder),
        "{}",
        reply.text
    );
}

async fn a_link_and_its_target_are_one_lock(backend: Backend) {
    let server = backend.start().await;
    layout(&server.root);
    hold(&server, "a", "src/real.py").await;
    conflict_with(
        &claim(&server, "b", "src/alias.py").await,
        "src/real.py",
        "a",
    );
    let absolute = server.root.join("src/alias.py").display().to_string();
    conflict_with(&claim(&server, "b", &absolute).await, "src/real.py", "a");
    // The holder releases by either spelling.
    let released = call_tool(
        &server.agent_url("a"),
        "release_file_lock",
        json!({ "file_paths": ["src/alias.py"] }),
    )
    .await;
    assert_eq!(
        released.structured()["released"],
        json!(["src/real.py"]),
        "{}",
        released.text
    );
    let granted = claim(&server, "b", "src/alias.py").await;
    assert_eq!(
        granted.structured()["locks"][0]["path"],
        "src/real.py",
        "{}",
        granted.text
    );
    // A directory through a link, and a glob under it, and a file not there yet.
    let dir = claim(&server, "a", "short/").await;
    assert_eq!(
        dir.structured()["locks"][0]["path"],
        "src/real_dir/",
        "{}",
        dir.text
    );
    conflict_with(
        &claim(&server, "c", "src/real_dir/new.rs").await,
        "src/real_dir/",
        "a",
    );
    conflict_with(
        &claim(&server, "c", "short/**/*.rs").await,
        "src/real_dir/",
        "a",
    );
}

async fn a_link_out_of_the_project_is_refused_like_any_path_outside_it(backend: Backend) {
    let server = backend.start().await;
    let outside = layout(&server.root);
    // Registered first: a bad argument is refused by the tool, after that.
    let status = call_tool(&server.agent_url("a"), "check_agent_status", json!({})).await;
    assert_eq!(status.structured()["success"], true, "{}", status.text);
    let before = state_fingerprint(&server).await;
    let target = outside.join("passwd").display().to_string();
    let through = server.root.join("linkdir/passwd").display().to_string();
    for raw in [
        "linkdir/passwd",
        through.as_str(),
        "linkdir/",
        "linkdir/*.conf",
    ] {
        let reply = claim(&server, "a", raw).await;
        assert_eq!(reply.error_code(), Some(-32602), "{raw}: {}", reply.text);
        let message = reply.error_message();
        assert!(
            message.contains("symbolic link")
                && message.contains(&outside.display().to_string())
                && message.contains("outside the project root"),
            "{raw}: {message}"
        );
    }
    let direct = claim(&server, "a", &target).await;
    assert_eq!(direct.error_code(), Some(-32602), "{}", direct.text);
    assert!(direct.error_message().contains("outside the project root"));
    assert_eq!(state_fingerprint(&server).await, before);
}

/// `ccmulti hook pre-tool` as Claude Code runs it, editing `file`.
fn pre_tool(server: &Server, agent: &str, file: &Path) -> (String, String) {
    let input = json!({
        "session_id": "s", "transcript_path": "/dev/null",
        "cwd": server.root, "hook_event_name": "PreToolUse", "tool_name": "Edit",
        "tool_input": { "file_path": file, "old_string": "x", "new_string": "y" },
    });
    let mut command = Command::new(ccmulti_binary());
    for var in HOOK_ENV {
        command.env_remove(var);
    }
    let mut child = command
        .args(["hook", "pre-tool"])
        .env("CCMULTI_AGENT", format!("u1__session__s1__{agent}"))
        .env("CCMULTI_URL", &server.base)
        .env("CLAUDE_PROJECT_DIR", &server.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ccmulti hook pre-tool");
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes());
    let out = child.wait_with_output().expect("the hook");
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Blocking hook and git processes call the server on the macro's two-thread runtime.
async fn the_hook_and_the_git_guard_follow_links_as_the_tools_do(backend: Backend) {
    let server = backend.start().await;
    let repo = server.root.clone();
    layout(&repo);
    assert!(git(&repo, &["init", "-q"], &[]).status.success());
    assert!(git(&repo, &["add", "src"], &[]).status.success());
    assert!(
        git(&repo, &["commit", "-q", "-m", "start"], &[])
            .status
            .success()
    );
    hold(&server, "a", "src/alias.py").await;

    // Editing the file through its link is editing the held file.
    let (stdout, stderr) = pre_tool(&server, "b", &repo.join("src/alias.py"));
    assert!(
        stdout.contains("\"deny\"") && stdout.contains("src/real.py is locked by a"),
        "{stdout}{stderr}"
    );
    // Through a link out of the project: left alone, as a file outside it is.
    let before = state_fingerprint(&server).await;
    let (stdout, stderr) = pre_tool(&server, "b", &repo.join("linkdir/passwd"));
    assert_eq!(stdout.trim(), "", "{stderr}");
    assert_eq!(state_fingerprint(&server).await, before);

    // The git guard: the held file, committed under its own name.
    let root = repo.display().to_string();
    let installed = Command::new(ccmulti_binary())
        .args(["install-git-hook", "--root", &root])
        .output()
        .expect("install-git-hook");
    assert!(installed.status.success(), "{installed:?}");
    std::fs::write(repo.join("src/real.py"), "x = 2\n").expect("edit");
    assert!(git(&repo, &["add", "src/real.py"], &[]).status.success());
    let me = "u1__session__s1__b";
    let env = [("CCMULTI_AGENT", me), ("CCMULTI_URL", server.base.as_str())];
    let refused = git(&repo, &["commit", "-q", "-m", "edit"], &env);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("src/real.py  held by a"), "{stderr}");
}
