//! Every integration test in one binary (one link instead of twenty): real
//! listeners, the real binary, real clients. Shared helpers are the
//! `ccmulti-testkit` crate, which the benches use too.
//!
//! Run one group with a filter, e.g. `cargo test --test it planner::`.
//!
//! The tests whose requests reach the store run on both backends
//! ([`on_both_backends!`]): `name::sqlite` and `name::postgres`, e.g.
//! `cargo test --test it ::postgres` for every PostgreSQL run. The rest run on
//! SQLite only, each file saying why (parsing and HTTP checks that never reach
//! the store, SQLite's files, the disk, the backup API).

// Scenario and table-driven tests read best whole; the 100-line limit is for
// shipped code.
#![allow(clippy::too_many_lines)]

/// Runs each named test, an `async fn name(backend: Backend)` (or with
/// `blocking:` first, a plain `fn`), once per
/// backend, as `name::sqlite` and `name::postgres` (each PostgreSQL run on a
/// new database of the test binary's server, `ccmulti_testpg`).
/// Every run gets a two-thread runtime: the coordinator serves on the same
/// runtime as the test's client calls.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use ccmulti_testkit::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Backend::Postgres).await
            }
        }
    )*};
    // Plain `fn name(backend: Backend)` tests, which drive processes and block.
    (blocking: $($name:ident),* $(,)?) => {$(
        mod $name {
            use ccmulti_testkit::Backend;
            #[test]
            fn sqlite() {
                super::$name(Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$name(Backend::Postgres)
            }
        }
    )*};
}

mod backup;
mod bad_input;
mod claude_code_fixtures;
mod claude_e2e;
mod claude_handover;
mod claude_team;
mod claude_unavailable;
mod cli;
mod connections;
mod crash;
mod dashboard_tmux;
mod docs;
mod exclusion;
mod expiry;
mod fast_path;
mod full_disk;
mod git_guard;
mod hooks;
mod hostile_input;
mod interop;
mod isolation;
mod lifetimes;
mod limits;
mod lock_patterns;
mod migrations;
mod output_schemas;
mod planner;
mod postgres;
mod postgres_tls;
mod printing;
mod protocol_eras;
mod replay_quick;
mod schema_file;
mod security;
mod seed_checks;
mod soak;
mod symlinks;
mod team;
mod team_land;
mod team_repair;
mod waiting;
