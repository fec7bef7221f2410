//! A coordinator in this process on a free loopback port, over a new SQLite
//! file or any store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ccmulti::clock::Clock;
use ccmulti::state::{Security, ServerState, SharedState};
use ccmulti::store::{Durability, SharedStore, SqliteStore};

/// A coordinator in this process, on a free loopback port, over a new
/// database `dir/db_name`. With `sweeper` false it serves the router alone:
/// nothing deletes expired rows or prunes events behind the caller's back.
/// Dropping `stop` (or sending on it) shuts it down.
pub struct InProcess {
    pub state: SharedState,
    /// The same database, for a test or bench to look at (or seed) directly.
    pub store: SqliteStore,
    pub base: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn serve_in_process(
    dir: &Path,
    db_name: &str,
    root: PathBuf,
    clock: Arc<dyn Clock>,
    sweeper: bool,
    security: Security,
) -> InProcess {
    let store = SqliteStore::open(&dir.join(db_name), clock, Durability::Normal).expect("store");
    let (state, base, stop) = serve_store(Arc::new(store.clone()), root, sweeper, security).await;
    InProcess {
        state,
        store,
        base,
        stop,
    }
}

/// A coordinator in this process over any store (a PostgreSQL one, say), on
/// a free loopback port: its state, its base URL and what stops it.
pub async fn serve_store(
    store: SharedStore,
    root: PathBuf,
    sweeper: bool,
    security: Security,
) -> (SharedState, String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let state = ServerState::secured(store, root, base.clone(), security);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped = async move {
        let _ = stopped.await;
    };
    if sweeper {
        tokio::spawn(ccmulti::serve::serve(listener, state.clone(), stopped));
    } else {
        tokio::spawn(ccmulti::serve::serve_http(listener, state.clone(), stopped));
    }
    (state, base, stop)
}
