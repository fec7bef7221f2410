//! `ccmulti db backup` while a claim storm runs against the real binary: the
//! copy passes `db verify` (integrity included) and holds every grant that
//! was acknowledged before the backup started. SQLite only: `db backup` is
//! SQLite's online backup API (on PostgreSQL, `pg_dump`).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::load::{Endpoint, http_client};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_during_a_claim_storm_keeps_every_grant_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    let db = dir.path().join("c.db");
    let server = Coordinator::start(&db, &root, &[]);
    let http = http_client(8, Duration::from_secs(10));
    let stop = Arc::new(AtomicBool::new(false));
    let granted: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let storm: Vec<_> = (0..8)
        .map(|i| {
            let endpoint = Endpoint::new(&http, &server.base, &format!("u__session__s__a{i}"));
            let (stop, granted) = (stop.clone(), granted.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let path = format!("src/a{i}/f{n}.rs");
                    n += 1;
                    let answer = endpoint
                        .call_raw(
                            "claim_file_lock",
                            json!({ "file_paths": [path], "duration_minutes": 30 }),
                        )
                        .await
                        .expect("a claim");
                    assert_eq!(answer["success"], true, "{answer}");
                    granted.lock().unwrap().push((path, Instant::now()));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let copy = dir.path().join("backup.db");
    let started = Instant::now();
    let (binary, db_arg, copy_arg) = (ccmulti_testkit::ccmulti_binary(), db.clone(), copy.clone());
    let backed_up = tokio::task::spawn_blocking(move || {
        Command::new(binary)
            .args(["db", "backup"])
            .arg(&copy_arg)
            .arg("--db")
            .arg(&db_arg)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        backed_up.status.success(),
        "{}",
        String::from_utf8_lossy(&backed_up.stderr)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for claimant in storm {
        claimant.await.unwrap();
    }

    let verify = Command::new(ccmulti_testkit::ccmulti_binary())
        .args(["db", "verify", "--db"])
        .arg(&copy)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{said}");
    assert!(said.contains("integrity_check: ok"), "{said}");

    let copied = ccmulti::store::SqliteStore::open_existing(
        &copy,
        Arc::new(ccmulti::clock::SystemClock),
        ccmulti::store::Durability::Normal,
    )
    .unwrap();
    let held: std::collections::BTreeSet<String> = copied
        .snapshot(0)
        .unwrap()
        .locks
        .into_iter()
        .map(|l| l.path)
        .collect();
    let granted = granted.lock().unwrap();
    let before: Vec<&String> = granted
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(p, _)| p)
        .collect();
    println!(
        "{} grants acknowledged before the backup, {} in all, {} in the copy",
        before.len(),
        granted.len(),
        held.len()
    );
    assert!(
        !before.is_empty(),
        "the storm granted nothing before the backup"
    );
    for path in before {
        assert!(
            held.contains(path),
            "{path} was acknowledged before the backup but is not in it"
        );
    }
    // A second backup to the same file is refused; the first stays as it was.
    let again = Command::new(ccmulti_testkit::ccmulti_binary())
        .args(["db", "backup"])
        .arg(&copy)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
