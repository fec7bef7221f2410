//! The intake's own answers: a JSON-RPC error with the HTTP status that goes
//! with it, for a request refused before rmcp or the fast path sees it.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::CoordError;

pub(super) fn jsonrpc_error(
    status: StatusCode,
    id: Value,
    code: i32,
    message: impl Into<String>,
) -> Response {
    let body =
        json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message.into() } });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `e` as the answer to a request the intake refused; `id` is the
/// request's, when it has one.
pub(super) fn coord_error(e: impl Into<CoordError>, id: Value) -> Response {
    let e = e.into();
    let status = e.http_status();
    let data = e.into_error_data();
    jsonrpc_error(status, id, data.code.0, data.message)
}
