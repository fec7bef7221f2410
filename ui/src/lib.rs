#![forbid(unsafe_code)]
//! The dashboard: renders a [`model::Snapshot`] and turns keys into [`model::Action`]s.
//! Knows nothing about SQLite or HTTP; the root crate supplies snapshots.

pub mod columns;
pub mod draw;
pub mod format;
mod keys;
pub mod model;
mod panel;
pub mod run;
pub mod state;
mod terminal;
pub mod theme;
pub mod view;

pub use draw::{HeaderInfo, draw};
pub use run::{DataSource, run};
pub use state::{AppState, Modal, Panel};
pub use theme::Theme;
