#![forbid(unsafe_code)]
//! ccmulti: a local coordinator for several AI coding agents in one repository.
//!
//! Layers, outermost first: `cli` (the binary's commands), `http` (axum router,
//! request intake, health and metrics), `mcp` (the MCP server handler and the
//! coordination tools), `store` (the only module that writes SQL) and `rules`
//! (plain functions over plain types: lock conflicts, paths, client policy).

pub mod client;
pub mod clock;
pub mod connections;
pub mod coord;
pub mod dashboard;
pub mod deadline;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod hook;
pub mod http;
pub mod json;
pub mod landing;
pub mod lock_paths;
pub mod mcp;
pub mod metrics;
pub mod rules;
pub mod serve;
pub mod state;
pub mod store;
pub mod worktrees;

pub use error::CoordError;
