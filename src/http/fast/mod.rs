//! The stateless fast path: a `tools/list` or `tools/call` without
//! `Mcp-Session-Id` (Claude Code 2026-07-28, bare curl POSTs) answered here
//! instead of by rmcp's stateless service, which builds a service, a task,
//! channels and cancellation tokens for every request and re-serialises its
//! messages through `serde_json::Value` (BENCHMARKS.md, "HTTP under wrk").
//!
//! It answers only what rmcp would answer from the handler: a request whose
//! headers rmcp's stateless validation is sure to accept ([`eligible`]). Any
//! other request, including every one that rmcp would refuse before the
//! handler, goes to rmcp unchanged and gets rmcp's own answer. The answers are
//! built from the same pieces rmcp's would be: `tools/list` from the same
//! `ListToolsResult` with the same protocol-era adjustments (rendered once per
//! tool set and era, then cached), `tools/call` through the same dispatch as
//! the rmcp handler ([`crate::mcp::dispatch`]), in rmcp's own JSON-RPC
//! envelope types.

mod answer;
mod headers;
mod listing;

pub(super) use answer::answer;
pub(super) use headers::eligible;
