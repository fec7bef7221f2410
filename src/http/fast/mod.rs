//! The fast path: a `tools/list` or `tools/call` answered here instead of by
//! rmcp. Stateless ones (Claude Code 2026-07-28, bare curl POSTs) would cost
//! rmcp's stateless service a service, a task, channels and cancellation
//! tokens for every request and re-serialise its messages through
//! `serde_json::Value`; those on a legacy session (`Mcp-Session-Id`) would go
//! through the session's worker task and back as an event stream
//! (BENCHMARKS.md, "HTTP under wrk"). A session's answer is one JSON object
//! (`application/json`), which the Streamable HTTP transport allows for any
//! request and every client must accept.
//!
//! It answers only what rmcp would answer from the handler: a request whose
//! headers rmcp's stateless validation is sure to accept ([`eligible`]). Any
//! other request, including every one that rmcp would refuse before the
//! handler, goes to rmcp unchanged and gets rmcp's own answer. The answers are
//! built from the same pieces rmcp's would be: `tools/list` from the same
//! `ListToolsResult` with the same protocol-era adjustments (rendered once per
//! tool set and era, then cached), `tools/call` through the same dispatch as
//! the rmcp handler ([`crate::mcp::dispatch`]), in rmcp's own JSON-RPC
//! envelope types. [`sessions`] says which sessions it may serve.

mod answer;
mod headers;
mod listing;
mod sessions;

pub(super) use answer::answer;
pub(super) use headers::{Era, FastRequest, eligible};
pub(super) use sessions::{Handshake, KnownSessions};
