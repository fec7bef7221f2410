//! Coordination rules: plain functions over plain types, the clock passed in.
//! Nothing here does I/O, so every rule is unit-tested without a database.

pub mod access;
pub mod audit;
pub mod clients;
pub mod clock_step;
pub mod handover;
pub mod landing;
pub mod lifetimes;
pub mod limits;
pub mod locks;
pub mod news;
pub mod paths;
pub mod progress;
pub mod shell;
pub mod targets;
pub mod team;
pub mod wait_cycle;
pub mod waiting;
pub mod workspace_headers;
