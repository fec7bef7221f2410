//! What every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::coord::Coordinator;
use crate::metrics::Metrics;
use crate::rules::access::{AUTH_HEADER_VALUE, AccessPolicy};
use crate::rules::limits::Limits;
use crate::store::SharedStore;
use crate::worktrees::Roots;

/// The coordinator's server, as every request handler shares it.
#[derive(Debug)]
pub struct ServerState {
    /// Every coordination step goes through the service.
    pub coord: Coordinator,
    /// The project root that lock paths are relative to; absolute and normalised.
    pub root: PathBuf,
    /// `root` and the same place in every other worktree of its repository:
    /// an absolute path in any of them is one lock path.
    pub roots: Roots,
    /// Where clients reach this coordinator, e.g. `http://127.0.0.1:7477`.
    pub public_url: String,
    pub metrics: Metrics,
    pub started: Instant,
    pub security: Security,
}

/// Who may call at all, and which clients besides Claude Code get the tools.
#[derive(Debug, Clone, Default)]
pub struct Security {
    pub access: AccessPolicy,
    /// Normalised by `rules::clients::admitted_clients`; empty by default.
    pub admitted_clients: Vec<String>,
    /// What one client can make the coordinator hold, and how long it may
    /// take to send a request.
    pub limits: Limits,
}

impl Security {
    /// What generated client configurations put in `Authorization`, if a token is required.
    pub fn client_auth_header(&self) -> Option<&'static str> {
        self.access.token.is_some().then_some(AUTH_HEADER_VALUE)
    }
}

pub type SharedState = Arc<ServerState>;

impl ServerState {
    /// Loopback only, no token, only Claude Code admitted. Call inside a
    /// tokio runtime: the service starts listening to the store's changes.
    pub fn new(store: SharedStore, root: PathBuf, public_url: String) -> SharedState {
        Self::secured(store, root, public_url, Security::default())
    }

    pub fn secured(
        store: SharedStore,
        root: PathBuf,
        public_url: String,
        security: Security,
    ) -> SharedState {
        Arc::new(Self {
            coord: Coordinator::new(store).with_limits(security.limits),
            roots: Roots::discover(&root),
            root,
            public_url,
            metrics: Metrics::default(),
            started: Instant::now(),
            security,
        })
    }
}
