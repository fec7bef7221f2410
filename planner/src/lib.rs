#![forbid(unsafe_code)]
//! ccmulti's planner, in two steps: [`analyze`] reads the project and finds,
//! for each task, the files it will likely touch and which tasks collide;
//! [`distribute`] deals the analysed tasks to agents and writes what each
//! terminal runs (its `claude mcp add` line) and reads (its prompt).
//!
//! Layers, innermost first, each using only those before it:
//! - `lex`: what a source file says (its words, imports and definitions),
//!   per language; `filekind`: what a path is for.
//! - `graph`: which project file imports which; `matching`: which files a
//!   task's text points at (BM25 over the code's words); `overlaps`: which
//!   tasks collide; `balance`: groups dealt to the least-loaded agent.
//! - `scan`: the only I/O, walking the project within a time budget.
//! - `analysis` and `distribution`: the two steps, with ids and the wording
//!   agents read; `plan`: both at once from a [`PlanRequest`]. Keeping an
//!   analysis and recording a plan is the coordination service's job
//!   (`Coordinator::plan` in `ccmulti`), not this crate's.

mod analysis;
mod balance;
mod distribution;
mod filekind;
mod graph;
pub mod lex;
mod matching;
mod overlaps;
mod plan;
mod project;
pub mod request;
mod scan;
mod summary;

pub use analysis::{Analysis, AnalyzedTask, ConflictReport, FileReason, analyze};
pub use distribution::{Connection, agent_id, distribute};
pub use graph::DepGraph;
pub use plan::{Plan, PlanRequest, plan};
pub use project::{Language, ProjectFiles, SourceFile, TaskInput};
pub use scan::{ScanLimits, scan};
