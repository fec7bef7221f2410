//! Running the coordinator: the HTTP listener and the expiry sweeper.

use std::future::Future;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::state::SharedState;

const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// The sweeper deletes at most this many old events a tick, so that one tick
/// holds the write connection for milliseconds.
const PRUNE_BATCH: u64 = 5_000;

/// Serves until `shutdown` resolves. Expired locks already stop counting at
/// once; the sweeper removes them and records their expiry events (which wakes
/// claims waiting for them), and wakes waiting claims when another process
/// has written the database (`ccmulti release`), which this one would not
/// otherwise notice. It also prunes the audit trail to the newest
/// [`Store::events_kept`](crate::store::Store::events_kept) events.
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
/// Nagle's algorithm is turned off on every accepted socket: a session-mode
/// answer is an event stream written in several small pieces, and with Nagle
/// on the last piece waited for the client's delayed ACK, ~40 ms a call.
pub async fn serve_http(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|socket| {
        if let Err(e) = socket.set_nodelay(true) {
            tracing::warn!(error = %e, "could not turn off Nagle's algorithm on a connection");
        }
    });
    axum::serve(listener, crate::http::app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn sweep_forever(state: SharedState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.store.blocking(|s| s.sweep_expired()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "swept expired locks"),
            Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
        }
        if let Err(e) = state
            .store
            .blocking(|s| s.prune_events(s.events_kept(), PRUNE_BATCH))
            .await
        {
            tracing::error!(error = %e, "pruning old events failed");
        }
        if state.store.waiting_claims() > 0
            && let Err(e) = state
                .store
                .blocking(|s| s.wake_waiters_if_changed_elsewhere())
                .await
        {
            tracing::error!(error = %e, "could not look for other processes' writes");
        }
    }
}
