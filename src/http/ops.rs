//! Liveness, a detailed health report (the seed greps it for "coordination") and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::HttpState;
use crate::mcp::tools;

pub async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn health_detailed(State(http): State<HttpState>) -> Response {
    let app = &http.app;
    let counts = app.coord.counts().await;
    let store = app.coord.store();
    let (status, state) = match &counts {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check could not read the database");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    };
    let database = json!({
        "status": state,
        "backend": store.backend(),
        "path": store.location(),
        "schema_version": store.schema_version(),
    });
    let body = json!({
        "status": if status == StatusCode::OK { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": app.started.elapsed().as_secs(),
        "database": database,
        "coordination_tools": tools::registered(),
        "counts": counts.ok(),
        "blocked_calls": app.metrics.blocked_total(),
        // Off by default: clients besides Claude Code that get the tools.
        "admitted_clients": app.security.admitted_clients,
        "security": {
            "token_required": app.security.access.token.is_some(),
            "allowed_hosts": app.security.access.host_names(),
        },
        "project_root": app.root,
        // The same place in the repository's other worktrees, as known now.
        "worktrees": app.roots.current().iter().skip(1).collect::<Vec<_>>(),
    });
    (status, Json(body)).into_response()
}

pub async fn metrics(State(http): State<HttpState>) -> Response {
    let app = &http.app;
    let active = app
        .coord
        .counts()
        .await
        .map(|c| c.active_locks)
        .unwrap_or(-1);
    let body = app.metrics.render_with_batches(
        active,
        app.started.elapsed(),
        app.coord.store().write_batches(),
    );
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body).into_response()
}
