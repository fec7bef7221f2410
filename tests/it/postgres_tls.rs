//! The coordinator on a PostgreSQL server that takes TLS connections only
//! (the testkit's `TlsServer`: a throwaway CA, a certificate for 127.0.0.1,
//! `hostssl` alone in pg_hba.conf): the real binary reaches it with
//! `sslmode=verify-full&sslrootcert=CA` and coordinates; without TLS the
//! server refuses, and with TLS but without the CA the coordinator refuses
//! the server it does not know.

use std::sync::Arc;

use ccmulti::clock::SystemClock;
use ccmulti::store::PostgresStore;
use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::load::Endpoint;
use ccmulti_testpg::tls::TlsServer;
use serde_json::json;

async fn refused(url: &str) -> String {
    match PostgresStore::open(url, Arc::new(SystemClock)).await {
        Ok(_) => panic!("{url} was let in"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_reaches_postgresql_over_verified_tls_and_no_other_way() {
    let tls = tokio::task::spawn_blocking(TlsServer::start)
        .await
        .expect("a PostgreSQL server with TLS");
    let ca = tls.ca.display().to_string();
    let url = tls.database(&format!("sslmode=verify-full&sslrootcert={ca}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let coordinator = Coordinator::start_postgres(&url, dir.path(), dir.path(), &[]);
    let http = reqwest::Client::new();
    let claimed = Endpoint::new(&http, &coordinator.base, "u__session__s__impl_a")
        .call_raw("claim_file_lock", json!({ "file_paths": ["src/lib.rs"] }))
        .await
        .expect("a claim over TLS");
    assert_eq!(claimed["success"], true, "{claimed}");
    let detailed: serde_json::Value = http
        .get(format!("{}/health/detailed", coordinator.base))
        .send()
        .await
        .expect("/health/detailed")
        .json()
        .await
        .expect("JSON");
    assert_eq!(detailed["database"]["status"], "ok", "{detailed}");
    assert_eq!(detailed["counts"]["active_locks"], 1, "{detailed}");

    let plain = refused(&tls.database("sslmode=disable")).await;
    // Both are the URL's fault: said so, not "retry shortly".
    assert!(plain.contains("no encryption"), "{plain}");
    let unknown = refused(&tls.database("sslmode=require")).await;
    assert!(unknown.contains("UnknownIssuer"), "{unknown}");
    for refusal in [&plain, &unknown] {
        assert!(
            refusal.contains("check the URL") && !refusal.contains("retry"),
            "{refusal}"
        );
    }
}
