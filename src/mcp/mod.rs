//! MCP: the server handler rmcp drives, who is calling, the one tool dispatch
//! both rmcp's handler and the HTTP fast path call, and the coordination tools.

pub mod dispatch;
pub mod identity;
pub mod server;
pub mod tools;
mod typed_args;

pub use identity::RouteInfo;
pub use server::CoordinatorServer;
pub(crate) use typed_args::parse as read_arguments;
