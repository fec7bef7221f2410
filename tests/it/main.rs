//! Every integration test in one binary (one link instead of twenty): real
//! listeners, the real binary, real clients. Shared helpers are the
//! `ccmulti-testkit` crate, which the benches use too.
//!
//! Run one group with a filter, e.g. `cargo test --test it planner::`.

mod backup;
mod bad_input;
mod claude_code_fixtures;
mod claude_e2e;
mod claude_team;
mod cli;
mod crash;
mod dashboard_tmux;
mod exclusion;
mod expiry;
mod fast_path;
mod full_disk;
mod git_guard;
mod hooks;
mod hostile_input;
mod interop;
mod isolation;
mod limits;
mod lock_patterns;
mod migrations;
mod output_schemas;
mod planner;
mod postgres;
mod protocol_eras;
mod security;
mod seed_checks;
mod soak;
mod team;
mod waiting;
