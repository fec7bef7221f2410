//! HTTP: the MCP endpoint (intake in front of rmcp's Streamable HTTP service,
//! and the fast path that answers `tools/list` and `tools/call` itself), health and metrics, all behind one guard (Host, Origin, token).
//! `app(state)` is the whole router.

mod admission;
mod answers;
mod envelope;
mod fast;
mod guard;
mod intake;
mod limits;
mod ops;
mod tool_request;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::mcp::CoordinatorServer;
use crate::state::SharedState;

/// The intake's envelope check, for the fuzz targets ([`crate::fuzzing`]):
/// the method of a well-formed message, or the status of the JSON-RPC error
/// it is answered with.
pub(crate) fn check_envelope(body: &[u8]) -> Result<Option<String>, http::StatusCode> {
    envelope::check_message(body)
        .map(|m| m.method)
        .map_err(|answer| answer.status())
}

/// Where the intake's own read of a `tools/list` or `tools/call` differs from
/// rmcp's, if it does, for the fuzz targets ([`crate::fuzzing`]).
pub(crate) fn tool_request_disagreement(body: &[u8]) -> Option<String> {
    tool_request::disagreement(body)
}

/// Bodies beyond this get 413: a coordination call is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

type Mcp = StreamableHttpService<CoordinatorServer, LocalSessionManager>;

#[derive(Clone)]
pub(crate) struct HttpState {
    app: SharedState,
    /// Legacy clients that `initialize` and then carry `Mcp-Session-Id`.
    /// Behind an `Arc`, as is `stateless`: axum clones the state for every
    /// request, and a service's clone copies its configuration's lists.
    sessions: Arc<Mcp>,
    /// Everything else: 2026-07-28 requests, and bare POSTs such as the seed's curl checks.
    stateless: Arc<Mcp>,
    touched: Arc<admission::RecentTouches>,
    /// The workspace each agent's hooks last named, as recorded by this process.
    placed: Arc<admission::Placed>,
    /// The legacy service's sessions, counted against the limit.
    legacy: Arc<LocalSessionManager>,
    streams: Arc<limits::OpenStreams>,
    /// The legacy sessions the fast path may serve.
    known_sessions: Arc<fast::KnownSessions>,
    fast_path: FastPath,
}

/// How the router is built; [`app`] takes the defaults, the tests others.
#[derive(Debug, Clone, Copy)]
pub struct HttpOptions {
    pub fast_path: FastPath,
    /// How long rmcp keeps a legacy session that has seen no request.
    pub session_keep_alive: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            fast_path: FastPath::On,
            session_keep_alive: SessionConfig::DEFAULT_KEEP_ALIVE,
        }
    }
}

/// Who answers a `tools/list` or `tools/call` that rmcp would hand straight
/// to its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastPath {
    /// The fast path (`fast/`): the server's own answer, the same message as
    /// rmcp's.
    On,
    /// rmcp's services, as for every other request; the tests compare the two.
    Off,
}

pub fn app(state: SharedState) -> Router {
    app_with(state, HttpOptions::default())
}

pub fn app_with(state: SharedState, options: HttpOptions) -> Router {
    let factory = {
        let state = state.clone();
        move || Ok(CoordinatorServer::new(state.clone()))
    };
    let mut base =
        StreamableHttpServerConfig::default().with_max_request_body_bytes(MAX_BODY_BYTES);
    // rmcp checks Host again behind our guard; it must allow what the guard
    // allows, or a non-loopback bind with a token would pass ours and fail its.
    base = match state.security.access.rmcp_allowed_hosts() {
        Some(hosts) => base.with_allowed_hosts(hosts),
        None => base.disable_allowed_hosts(),
    };
    let mut legacy = LocalSessionManager::default();
    legacy.session_config.keep_alive = Some(options.session_keep_alive);
    let legacy = Arc::new(legacy);
    let sessions = StreamableHttpService::new(
        factory.clone(),
        legacy.clone(),
        base.clone().with_legacy_session_mode(true),
    );
    let stateless = StreamableHttpService::new(
        factory,
        Arc::new(LocalSessionManager::default()),
        base.with_legacy_session_mode(false)
            .with_json_response(true),
    );
    let http = HttpState {
        app: state,
        sessions: Arc::new(sessions),
        stateless: Arc::new(stateless),
        touched: Arc::default(),
        placed: Arc::default(),
        legacy,
        streams: Arc::default(),
        known_sessions: Arc::new(fast::KnownSessions::new(options.session_keep_alive)),
        fast_path: options.fast_path,
    };
    Router::new()
        .route(
            "/mcp/v2/{client}/{virtual_user_id}",
            any(intake::mcp_endpoint),
        )
        .route("/health", get(ops::health))
        .route("/health/detailed", get(ops::health_detailed))
        .route("/metrics", get(ops::metrics))
        // A layer, not a route layer: unknown paths are guarded too.
        .layer(axum::middleware::from_fn_with_state(
            http.clone(),
            guard::guard,
        ))
        .with_state(http)
}
