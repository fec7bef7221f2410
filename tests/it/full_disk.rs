//! A full disk under the database: on a size-limited tmpfs (mounted here, as
//! root), a filler file takes the last byte; claims and releases then answer
//! a clear, retryable error, nothing is half-written, and once the filler is
//! gone the same coordinator serves again with every acknowledged grant and
//! release as it was acknowledged. SQLite only: the disk is the one under
//! its file (a PostgreSQL server's full disk is the server's to report).
//!
//! Mounting needs root (CI runs as root); elsewhere the test is skipped with
//! a message, unless `CCMULTI_REQUIRE_INTEROP=1` makes it mandatory.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use ccmulti::clock::SystemClock;
use ccmulti::state::Security;
use ccmulti_testkit::load::serve_in_process;
use ccmulti_testkit::*;
use serde_json::json;

/// Small enough to fill in a moment; big enough for the database to open.
const FS_SIZE: &str = "3m";

/// Set (by `.ci/run`, where a probe mount works) to fail rather than skip.
const REQUIRE_MOUNT: &str = "CCMULTI_REQUIRE_FULL_DISK";

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(test: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={FS_SIZE},mode=0700")])
            .arg("tmpfs")
            .arg(&path)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Self { path, _dir: dir }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                    Err(e) => e.to_string(),
                };
                // Mounting needs root with the right to mount (not every
                // container has it): `.ci/run` probes for it and makes the
                // test mandatory where it is there.
                let why = format!("a size-limited tmpfs cannot be mounted ({why}); it needs root");
                if std::env::var(REQUIRE_MOUNT).is_ok_and(|v| v == "1") {
                    panic!("{test}: {REQUIRE_MOUNT}=1 but {why}");
                }
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Writes zeros into `file` until the disk refuses; returns the bytes written.
fn fill(file: &Path) -> u64 {
    let mut f = std::fs::File::create(file).expect("filler");
    let chunk = vec![0u8; 4096];
    let mut written = 0;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC: {e}");
                break;
            }
        }
    }
    let _ = f.sync_all();
    written
}

const DISK_FULL: i64 = -32000;

fn is_disk_full(reply: &Reply) -> bool {
    reply.error_code() == Some(DISK_FULL)
}

fn assert_clear(reply: &Reply) {
    let message = reply.error_message();
    assert!(
        message.contains("disk is full")
            && message.contains("nothing was written")
            && message.contains("Retry"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_full_disk_refuses_writes_clearly_and_loses_nothing() {
    let Some(disk) =
        SmallDisk::mount("full_disk::a_full_disk_refuses_writes_clearly_and_loses_nothing")
    else {
        return;
    };
    let root = disk.path.join("repo");
    std::fs::create_dir(&root).expect("root");
    let server = serve_in_process(
        &disk.path,
        "coordinator.db",
        root,
        Arc::new(SystemClock),
        true,
        Security::default(),
    )
    .await;
    let url = |agent: &str| format!("{}/mcp/v2/claude/u1__session__s1__{agent}", server.base);
    let claim = |agent: &str, path: String| {
        let url = url(agent);
        async move {
            call_tool(
                &url,
                "claim_file_lock",
                json!({ "file_paths": [path], "duration_minutes": 60 }),
            )
            .await
        }
    };
    let release = |agent: &str, path: String| {
        let url = url(agent);
        async move { call_tool(&url, "release_file_lock", json!({ "file_paths": [path] })).await }
    };

    // Grants and releases acknowledged before the disk fills.
    let mut held: BTreeSet<String> = BTreeSet::new();
    let mut released: BTreeSet<String> = BTreeSet::new();
    for i in 0..20 {
        let path = format!("src/before_{i:03}.rs");
        let reply = claim("a", path.clone()).await;
        assert_eq!(reply.structured()["success"], true, "{}", reply.text);
        held.insert(path);
    }
    for i in 0..5 {
        let path = format!("src/before_{i:03}.rs");
        let reply = release("a", path.clone()).await;
        assert_eq!(reply.structured()["success"], true, "{}", reply.text);
        held.remove(&path);
        released.insert(path);
    }

    // b registers now: registering is a write too.
    let b = call_tool(&url("b"), "check_agent_status", json!({})).await;
    assert_eq!(b.structured()["success"], true, "{}", b.text);

    let filler = disk.path.join("filler");
    let filled = fill(&filler);
    assert!(filled > 0, "the filler took no space");

    // Claims until the disk refuses one: the pages SQLite already has may take a few.
    let long = "x".repeat(180);
    let mut refused_claim = None;
    for i in 0..2_000 {
        let path = format!("src/full_{i:04}_{long}.rs");
        let reply = claim("a", path.clone()).await;
        if reply.structured()["success"] == true {
            held.insert(path);
            continue;
        }
        assert!(
            is_disk_full(&reply),
            "a failed claim on a full disk must say so: {}",
            reply.text
        );
        refused_claim = Some((path, reply));
        break;
    }
    let (refused_path, reply) = refused_claim.expect("no claim was refused on a full disk");
    assert_clear(&reply);
    assert_eq!(reply.status, 200, "a tool's error travels in JSON-RPC");
    // A new agent's call: its registration is the write refused, with the
    // same answer; its tools/list still lists the tools.
    let newcomer = claim("c", "src/c.rs".to_owned()).await;
    assert!(is_disk_full(&newcomer), "{}", newcomer.text);
    assert_eq!(newcomer.status, 200, "{}", newcomer.text);
    assert_clear(&newcomer);
    let listed = list_tools(&url("c"), Some("claude code")).await;
    assert!(
        listed.tool_names().iter().any(|t| t == "claim_file_lock"),
        "{}",
        listed.text
    );
    // The same claim, retried while full, is refused again; never half-granted.
    let again = claim("a", refused_path.clone()).await;
    assert!(is_disk_full(&again), "{}", again.text);
    // Reads still answer a known agent: its activity touch is what fails, and
    // that alone does not refuse the call.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let status = call_tool(&url("a"), "check_agent_status", json!({ "news": false })).await;
    assert_eq!(status.structured()["success"], true, "{}", status.text);

    // A release on the full disk: done whole, or refused clearly with the lock kept.
    let to_release = held.iter().next().cloned().expect("a held path");
    let reply = release("a", to_release.clone()).await;
    println!(
        "full disk: {filled} filler bytes, {} locks held, release on the full disk: {}",
        held.len(),
        if reply.structured()["success"] == true {
            "done"
        } else {
            "refused"
        }
    );
    if reply.structured()["success"] == true {
        held.remove(&to_release);
        released.insert(to_release);
    } else {
        assert!(is_disk_full(&reply), "{}", reply.text);
        assert_clear(&reply);
    }
    // Another agent is never granted a held path (told of the conflict, or,
    // since recording the conflict is a write, of the full disk).
    let blocked = claim("b", held.iter().next().cloned().expect("held")).await;
    assert!(
        blocked.structured()["success"] == false || is_disk_full(&blocked),
        "{}",
        blocked.text
    );

    // Space back: the same coordinator serves again, the refused claim goes through.
    std::fs::remove_file(&filler).expect("remove the filler");
    let retried = claim("a", refused_path.clone()).await;
    assert_eq!(retried.structured()["success"], true, "{}", retried.text);
    held.insert(refused_path);
    let after = release("a", "src/before_019.rs".to_owned()).await;
    assert_eq!(after.structured()["success"], true, "{}", after.text);
    held.remove("src/before_019.rs");

    // Every acknowledged grant is held, every acknowledged release is gone, and the file is sound.
    let snapshot = server.store.snapshot(0).expect("snapshot");
    let locked: BTreeSet<String> = snapshot.locks.iter().map(|l| l.path.clone()).collect();
    assert_eq!(locked, held, "the locks are exactly the acknowledged ones");
    assert!(released.iter().all(|p| !locked.contains(p)));
    let verified = server.store.verify().expect("verify");
    assert_eq!(verified.integrity, "ok", "{verified:?}");
    drop(server);
}
