//! The store's behaviour, written once against the [`CoordStore`] trait and
//! run on both backends: SQLite in a temporary file, and a real PostgreSQL
//! server (the testkit starts one from Debian's packages; each test its own
//! database). Where a test needs "another process" it opens a second store
//! on the same database: another process on the SQLite file, another
//! coordinator on PostgreSQL.

mod claims;
mod handover;
mod lifecycle;
mod state;

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{
    ClaimOutcome, ClaimRequest, CoordStore, Durability, PostgresStore, SharedStore, SqliteStore,
};
use crate::clock::ManualClock;
use ccmulti_model::Operation;
use ccmulti_model::VirtualUser;
use std::str::FromStr;

pub(crate) const T0: i64 = 1_790_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) struct Fixture {
    pub store: SharedStore,
    pub clock: Arc<ManualClock>,
    pub backend: Backend,
    /// The file, or the URL.
    at: String,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    pub async fn new(backend: Backend) -> Self {
        let clock = ManualClock::starting_at(T0);
        let (at, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let file = dir.path().join("c.db").display().to_string();
                (file, Some(dir))
            }
            Backend::Postgres => (ccmulti_testpg::database(), None),
        };
        Self {
            store: open(backend, &at, clock.clone()).await,
            clock,
            backend,
            at,
            _dir: dir,
        }
    }

    /// Another store on the same database, on the same clock.
    pub async fn another(&self) -> SharedStore {
        open(self.backend, &self.at, self.clock.clone()).await
    }
}

async fn open(backend: Backend, at: &str, clock: Arc<ManualClock>) -> SharedStore {
    match backend {
        Backend::Sqlite => Arc::new(
            SqliteStore::open(std::path::Path::new(at), clock, Durability::Normal)
                .expect("open sqlite"),
        ),
        Backend::Postgres => Arc::new(PostgresStore::open(at, clock).await.expect("open postgres")),
    }
}

/// Runs one behaviour test on each backend: `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::store::behaviour::{Backend, Fixture};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Fixture::new(Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Fixture::new(Backend::Postgres).await).await
            }
        }
    )*};
}
pub(crate) use on_both_backends;

pub(crate) fn paths(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|p| p.to_string()).collect()
}

/// Agents of session `s`, user `u`.
pub(crate) async fn register(store: &dyn CoordStore, agents: &[&str]) {
    for a in agents {
        let user = VirtualUser::from_str(&format!("u__session__s__{a}")).expect("a virtual user");
        store.touch_agent(&user, "url").await.expect("registered");
    }
}

pub(crate) fn request(
    agent: &str,
    operation: Operation,
    list: &[&str],
    minutes: i64,
) -> ClaimRequest {
    ClaimRequest {
        session: "s".into(),
        agent: agent.into(),
        operation,
        paths: paths(list),
        lease_ms: minutes * 60_000,
        idle_yield_ms: None,
    }
}

pub(crate) async fn claim(
    store: &dyn CoordStore,
    agent: &str,
    operation: Operation,
    list: &[&str],
    minutes: i64,
) -> ClaimOutcome {
    store
        .claim(&request(agent, operation, list, minutes), true)
        .await
        .expect("a claim answers")
}

/// The audit trail's kinds, oldest first.
pub(crate) async fn event_kinds(store: &dyn CoordStore) -> Vec<String> {
    let mut kinds: Vec<String> = store
        .snapshot(1000)
        .await
        .expect("a snapshot")
        .events
        .into_iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect();
    kinds.reverse();
    kinds
}
