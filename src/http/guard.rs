//! The one gate in front of every route: `Host` and `Origin` against DNS
//! rebinding and cross-site browser requests, then the bearer token when one
//! is set. It runs before the intake, which registers agents, so a refused
//! request changes nothing.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::HttpState;
use crate::metrics::Refusal;
use crate::rules::access::{HeaderRefusal, TOKEN_ENV, bearer};

pub async fn guard(State(http): State<HttpState>, request: Request, next: Next) -> Response {
    let access = &http.app.security.access;
    let headers = request.headers();
    // HTTP/2 carries the host in `:authority`, which hyper leaves in the URI.
    let host = header_text(headers, header::HOST)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    if let Err(refusal) = access
        .check_host(host.as_deref())
        .and_then(|()| access.check_origin(header_text(headers, header::ORIGIN).as_deref()))
    {
        http.app.metrics.count_refused(if refusal.header == "Host" {
            Refusal::Host
        } else {
            Refusal::Origin
        });
        return forbidden(&refusal, request.uri().path());
    }
    let liveness = request.uri().path() == "/health"
        && matches!(*request.method(), Method::GET | Method::HEAD);
    if let Some(token) = access.token.as_ref().filter(|_| !liveness) {
        let presented = header_text(headers, header::AUTHORIZATION);
        let problem = match presented.as_deref().map(bearer) {
            None => Some("no Authorization header"),
            Some(None) => Some("an Authorization header that is not \"Bearer <token>\""),
            Some(Some(t)) if !token.matches(t) => Some("a bearer token that does not match"),
            Some(Some(_)) => None,
        };
        if let Some(problem) = problem {
            http.app.metrics.count_refused(Refusal::Token);
            return unauthorized(problem, request.uri().path());
        }
    }
    next.run(request).await
}

/// A header's value as text; one that is not visible ASCII becomes a
/// placeholder that no check accepts.
fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).map(|v| {
        v.to_str()
            .map_or_else(|_| "(not text)".to_owned(), str::to_owned)
    })
}

fn forbidden(refusal: &HeaderRefusal, path: &str) -> Response {
    tracing::warn!(
        header = refusal.header,
        received = %refusal.received,
        path,
        "SECURITY: request refused by the Host/Origin check (DNS rebinding or a cross-site page)"
    );
    let body = json!({
        "error": "forbidden",
        "header": refusal.header,
        "received": refusal.received,
        "accepted": refusal.accepted,
        "message": format!(
            "the {} header {:?} is not accepted by this coordinator; accepted: {}",
            refusal.header, refusal.received, refusal.accepted
        ),
    });
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn unauthorized(problem: &str, path: &str) -> Response {
    tracing::warn!(
        path,
        problem,
        "SECURITY: request without the coordinator's token refused"
    );
    let body = json!({
        "error": "unauthorized",
        "message": format!(
            "this coordinator requires a token and the request had {problem}; send \
             \"Authorization: Bearer <token>\" with the token the coordinator was started with \
             ({TOKEN_ENV}). Only GET /health is open."
        ),
    });
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"ccmulti\""),
    );
    response
}
