//! Accepting connections and serving HTTP on them, as `axum::serve` does,
//! plus what it cannot be told: a deadline for a request's headers. Without
//! one, a client that sends its headers a byte a second holds a connection
//! (and a task) for as long as it likes; hyper closes such a connection once
//! `header_read_timeout` has passed without a complete request head.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// After an accept error that is not one connection's (e.g. out of file
/// descriptors), wait before the next accept instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Serves `app` on every connection until `shutdown` resolves, then stops
/// accepting and waits for open connections to finish. Nagle's algorithm is
/// turned off on every accepted socket: a session-mode answer is an event
/// stream written in several small pieces, and with Nagle on the last piece
/// waited for the client's delayed ACK, ~40 ms a call.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = socket.set_nodelay(true) {
            tracing::warn!(error = %e, "could not turn off Nagle's algorithm on a connection");
        }
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(socket), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A slow or vanished client, a header deadline passed: the
                // client's doing, not the coordinator's.
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one connection (it went away before it was accepted), not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
