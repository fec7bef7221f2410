//! One error type for everything a caller can get wrong or that can go wrong
//! inside; it maps to a JSON-RPC code and an HTTP status. Internal causes are
//! logged where they are turned into a response, never sent to the client.

use rmcp::model::{ErrorCode, ErrorData};

use crate::rules::limits::LimitReached;
use crate::store::StoreError;
use ccmulti_model::VirtualUserError;

#[derive(Debug, thiserror::Error)]
pub enum CoordError {
    /// Arguments that do not fit the tool's schema or rules.
    #[error("{0}")]
    InvalidParams(String),
    #[error(
        "unknown tool {0:?}; this coordinator's tools are analyze_task_conflicts, create_task_distribution, claim_file_lock, release_file_lock, sync_progress, check_agent_status and setup_multi_agent_coordination"
    )]
    UnknownTool(String),
    /// A coordination tool called by a client that may not see it.
    #[error(
        "tool {tool:?} is not available to this client ({client}); coordination tools are served only to Claude Code at /mcp/v2/claude/{{user}}__session__{{session}}__{{agent}}, and to clients the coordinator's owner admits with --admit-client NAME"
    )]
    NotEntitled { tool: String, client: String },
    #[error("session {session:?} belongs to another user; pick another session id")]
    SessionOwnedByOther { session: String },
    #[error(transparent)]
    BadVirtualUser(#[from] VirtualUserError),
    /// One more session, agent, stream or waiting claim than the limits allow.
    #[error(transparent)]
    LimitReached(#[from] LimitReached),
    #[error("internal error; the coordinator's log has the cause")]
    Internal(#[source] StoreError),
    /// The database is down or not answering: nothing was done, retry.
    #[error(
        "the coordination database is unavailable right now; nothing was changed that the coordinator knows of; retry in a few seconds"
    )]
    Unavailable(#[source] StoreError),
    /// The database could not be written for want of disk space; nothing was.
    #[error(
        "the coordinator's disk is full, so nothing was written: no lock was granted or released and no progress recorded. Retry the same call once space is freed on the disk holding the database"
    )]
    DiskFull(#[source] StoreError),
    /// A result that could not be written as JSON (a bug, not a caller's mistake).
    #[error("internal error; the coordinator's log has the cause")]
    Encoding(#[source] serde_json::Error),
    /// The client went away or cancelled the request; nobody reads this answer.
    #[error("the request was cancelled before it finished")]
    Cancelled,
}

/// JSON-RPC's "request cancelled", as LSP and others use it; MCP has no code of its own.
const REQUEST_CANCELLED: ErrorCode = ErrorCode(-32800);

/// JSON-RPC's range for server errors (-32000 to -32099): here, a temporary
/// condition the same call can be retried after (a full disk, a database
/// that is down).
pub const SERVER_UNAVAILABLE: ErrorCode = ErrorCode(-32000);

impl From<StoreError> for CoordError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::SessionOwnedByOther { session } => Self::SessionOwnedByOther { session },
            StoreError::LimitReached(reached) => Self::LimitReached(reached),
            full @ StoreError::DiskFull(_) => Self::DiskFull(full),
            unavailable if unavailable.is_retryable() => Self::Unavailable(unavailable),
            other => Self::Internal(other),
        }
    }
}

impl CoordError {
    pub fn jsonrpc_code(&self) -> ErrorCode {
        match self {
            Self::InvalidParams(_) | Self::UnknownTool(_) | Self::NotEntitled { .. } => {
                ErrorCode::INVALID_PARAMS
            }
            Self::SessionOwnedByOther { .. } | Self::BadVirtualUser(_) | Self::LimitReached(_) => {
                ErrorCode::INVALID_REQUEST
            }
            Self::Internal(_) | Self::Encoding(_) => ErrorCode::INTERNAL_ERROR,
            Self::DiskFull(_) | Self::Unavailable(_) => SERVER_UNAVAILABLE,
            Self::Cancelled => REQUEST_CANCELLED,
        }
    }

    /// The HTTP status of an MCP request the intake answers with this error
    /// itself (before a tool runs).
    pub fn http_status(&self) -> http::StatusCode {
        match self {
            Self::InvalidParams(_) | Self::UnknownTool(_) | Self::BadVirtualUser(_) => {
                http::StatusCode::BAD_REQUEST
            }
            Self::NotEntitled { .. } | Self::SessionOwnedByOther { .. } => {
                http::StatusCode::FORBIDDEN
            }
            Self::LimitReached(_) => http::StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) | Self::Encoding(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
            // Retryable: the same call succeeds once space or the database is
            // back. Answered as every call the store cannot serve is, from the
            // intake, the fast path or rmcp alike: a JSON-RPC error in an HTTP
            // 200. Claude Code shows its model that error's message as the
            // tool's error, word for word; a 503 it shows as "Error POSTing to
            // endpoint: " and the raw body, a transport failure (README,
            // "When the database is down").
            Self::DiskFull(_) | Self::Unavailable(_) => http::StatusCode::OK,
            // nginx's "client closed request": the client is gone.
            Self::Cancelled => {
                http::StatusCode::from_u16(499).unwrap_or(http::StatusCode::BAD_REQUEST)
            }
        }
    }

    /// Logs an internal cause (once, here) and returns what the client may see.
    pub fn into_error_data(self) -> ErrorData {
        match &self {
            Self::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            Self::DiskFull(cause) => tracing::error!(error = %cause, "the database's disk is full"),
            Self::Encoding(cause) => {
                tracing::error!(error = %cause, "a result could not be encoded")
            }
            _ => {}
        }
        ErrorData::new(self.jsonrpc_code(), self.to_string(), None)
    }
}
