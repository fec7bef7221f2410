//! The replay benchmark's driver, shared by `benches/replay.rs` and the
//! CI-sized `tests/it/replay_quick.rs`: windows of real history, one run per
//! window, condition and seed, and the figures of each run.

pub mod git;
pub mod measure;
pub mod report;
pub mod run;
pub mod window;
