//! The limits the HTTP layer enforces (the decisions are
//! [`crate::rules::limits`]'): open legacy sessions, open event streams, and
//! how long a request body may take to arrive.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use crate::rules::limits::{Limit, LimitReached, Limits, admit_one_more};

/// Refuses a new legacy session (an `initialize` without `Mcp-Session-Id`)
/// while as many are open as allowed. rmcp closes idle ones by itself.
pub(super) async fn admit_legacy_session(
    sessions: &LocalSessionManager,
    limits: &Limits,
) -> Result<(), LimitReached> {
    let open = sessions.sessions.read().await.len() as u64;
    admit_one_more(Limit::LegacySessions, limits, open)
}

/// The open event streams, counted by the slots they hold.
#[derive(Debug, Default)]
pub(crate) struct OpenStreams(Arc<AtomicU64>);

/// One open event stream; dropping it (the stream's body ends or the client
/// goes away) frees its place.
#[derive(Debug)]
pub(super) struct StreamSlot(Arc<AtomicU64>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl OpenStreams {
    /// Takes a place for one more stream, or says the limit is reached.
    /// Taken before it is checked, so racing requests cannot pass it together.
    pub(super) fn admit(&self, limits: &Limits) -> Result<StreamSlot, LimitReached> {
        let before = self.0.fetch_add(1, Ordering::SeqCst);
        let slot = StreamSlot(self.0.clone());
        admit_one_more(Limit::EventStreams, limits, before)?;
        Ok(slot)
    }
}

type StreamResponse = http::Response<BoxBody<Bytes, Infallible>>;

/// Keeps `slot` for as long as the response's body lives.
pub(super) fn hold_while_streaming(response: StreamResponse, slot: StreamSlot) -> StreamResponse {
    response.map(|body| {
        body.map_frame(move |frame| {
            let _held = &slot;
            frame
        })
        .boxed()
    })
}
