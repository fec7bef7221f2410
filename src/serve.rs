//! Running the coordinator: the HTTP listener and the expiry sweeper.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::connections::{ConnectionLimits, serve_connections};
use crate::state::SharedState;

const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Serves until `shutdown` resolves. Expired locks already stop counting at
/// once; the sweeper removes them and records their expiry events (which wakes
/// claims waiting for them), and wakes waiting claims when another process
/// has written the database (`ccmulti release`), which this one would not
/// otherwise notice. It also prunes the audit trail to the newest
/// `--keep-events` events ([`Coordinator::sweep`](crate::coord::Coordinator::sweep)).
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_forever(state.clone()));
    let served = serve_http(listener, state, shutdown).await;
    sweeper.abort();
    served
}

/// The HTTP side alone (no sweeper), for callers that drive expiry themselves.
/// Connections that hold no request for the limits' `header_read_timeout`
/// are closed, and as many are held as the open-file limit leaves room for
/// ([`crate::connections`]).
pub async fn serve_http(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnectionLimits::for_this_process(state.security.limits.header_read_timeout);
    tracing::info!(
        max_connections = limits.max_connections,
        "connections without a request close after {} s",
        limits.header_read_timeout.as_secs()
    );
    let stats = state.metrics.connections.clone();
    serve_connections(listener, crate::http::app(state), limits, stats, shutdown).await
}

async fn sweep_forever(state: SharedState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.coord.sweep().await;
    }
}
