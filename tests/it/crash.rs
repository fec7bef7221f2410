//! Crashes: SIGKILL the real coordinator in the middle of a claim storm,
//! restart it on the same database, and check what it acknowledged is still
//! there: integrity, every acknowledged grant with its deadline, every
//! acknowledged release, and no fencing token handed out twice. On SQLite;
//! on PostgreSQL, `postgres.rs` SIGKILLs one of three coordinators and
//! restarts the server in the middle of a storm.
//!
//! Five cycles by default; the long run:
//!     CCMULTI_CRASH_CYCLES=100 cargo test --release --test it crash:: -- --nocapture

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::load::Endpoint;
use serde_json::json;

const STORM_CLIENTS: usize = 16;

#[derive(Debug, Clone)]
struct Acked {
    token: i64,
    /// As the tool reported it, to the second.
    expires_at: String,
}

/// One client's storm until the server dies: claims of fresh paths, every third released.
async fn storm(
    endpoint: Endpoint,
    client: usize,
    cycle: usize,
    grants: Arc<AtomicUsize>,
) -> (BTreeMap<String, Acked>, Vec<String>) {
    let (mut granted, mut released) = (BTreeMap::new(), Vec::new());
    for n in 0.. {
        let path = format!("c{cycle}/k{client}/f{n}.rs");
        let Some(r) = endpoint
            .call_raw(
                "claim_file_lock",
                json!({ "file_paths": [path], "duration_minutes": 30 }),
            )
            .await
            .ok()
        else {
            break;
        };
        let lock = &r["locks"][0];
        grants.fetch_add(1, Ordering::SeqCst);
        granted.insert(
            path.clone(),
            Acked {
                token: lock["fencing_token"].as_i64().unwrap(),
                expires_at: lock["expires_at"].as_str().unwrap().to_owned(),
            },
        );
        if n % 3 == 0 {
            match endpoint
                .call_raw("release_file_lock", json!({ "file_paths": [path] }))
                .await
                .ok()
            {
                Some(r) if r["released"] == json!([path]) => {
                    granted.remove(&path);
                    released.push(path);
                }
                Some(_) => panic!("release of a held lock refused"),
                // Unknown: it may or may not have happened; drop it from both books.
                None => {
                    granted.remove(&path);
                    break;
                }
            }
        }
    }
    (granted, released)
}

fn locks_in(db: &std::path::Path) -> BTreeMap<String, (i64, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let mut stmt = conn
        .prepare("SELECT file_path, fencing_token, expires_at FROM file_locks WHERE session_id = 'crash'")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get::<_, String>(2)?)))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_work_survives_sigkill() {
    let cycles: usize = std::env::var("CCMULTI_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut acked: BTreeMap<String, Acked> = BTreeMap::new();
    let mut released: Vec<String> = Vec::new();
    let mut max_token = 0i64;
    let mut storm_grants = 0usize;
    let started = Instant::now();
    for cycle in 0..cycles {
        // What the previous incarnation acknowledged must be in the file before we start again.
        let on_disk = if cycle == 0 {
            BTreeMap::new()
        } else {
            locks_in(&db)
        };
        for (path, a) in &acked {
            let (token, expires) = on_disk
                .get(path)
                .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged grant of {path} lost"));
            assert_eq!(*token, a.token, "{path}");
            assert_eq!(
                format!("{}Z", &expires[..19]),
                a.expires_at,
                "{path}: deadline changed"
            );
        }
        for path in &released {
            assert!(
                !on_disk.contains_key(path),
                "cycle {cycle}: acknowledged release of {path} undone"
            );
        }

        let server = Coordinator::start(&db, dir.path(), &[]);
        let grants = Arc::new(AtomicUsize::new(0));
        let storms: Vec<_> = (0..STORM_CLIENTS)
            .map(|k| {
                tokio::spawn(storm(
                    Endpoint::new(&http, &server.base, &format!("u__session__crash__k{k}")),
                    k,
                    cycle,
                    grants.clone(),
                ))
            })
            .collect();
        // The kill lands mid-storm: after the first grant (on a machine busy
        // with other tests that may take longer than the storm's own time),
        // then a little later each cycle.
        let deadline = Instant::now() + Duration::from_secs(10);
        while grants.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(150 + (cycle as u64 * 37) % 250)).await;
        server.kill();
        for s in storms {
            let (granted, rel) = s.await.unwrap();
            storm_grants += granted.len() + rel.len();
            for a in granted.values() {
                assert!(
                    a.token > max_token,
                    "token {} reused (max before this cycle {max_token})",
                    a.token
                );
            }
            acked.extend(granted);
            released.extend(rel);
        }
        max_token = acked
            .values()
            .map(|a| a.token)
            .max()
            .unwrap_or(max_token)
            .max(max_token);
    }
    let on_disk = locks_in(&db);
    for (path, a) in &acked {
        assert_eq!(
            on_disk.get(path).map(|l| l.0),
            Some(a.token),
            "{path} lost after the last kill"
        );
    }
    println!(
        "{cycles} SIGKILL cycles in {:.1} s: {storm_grants} acknowledged grants, {} acknowledged releases, none lost; integrity ok each time",
        started.elapsed().as_secs_f64(),
        released.len()
    );
    assert!(
        storm_grants > cycles,
        "the storms must have claimed something"
    );
}
