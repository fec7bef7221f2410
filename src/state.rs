//! What every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    /// The project root that lock paths are relative to; absolute and normalised.
    pub root: PathBuf,
    /// Where clients reach this coordinator, e.g. `http://127.0.0.1:7477`.
    pub public_url: String,
    pub metrics: Metrics,
    pub started: Instant,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(store: Store, root: PathBuf, public_url: String) -> SharedState {
        Arc::new(Self {
            store,
            root,
            public_url,
            metrics: Metrics::default(),
            started: Instant::now(),
        })
    }
}
