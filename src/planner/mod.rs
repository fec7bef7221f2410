//! The planner's two steps over a real project: analyse tasks against the
//! scanned source tree, then deal them out to agents with what each terminal
//! needs to join. The rules live in `rules::plan`; this adds the scan, ids
//! and the wording agents read. Storing a plan is the coordination service's job.

mod analysis;
mod distribution;
mod reply;

pub use analysis::{Analysis, AnalyzedTask, ConflictReport, FileReason, ProjectSummary, analyze};
pub use distribution::{
    AgentPlan, Connection, Distribution, McpConfig, McpServer, agent_id, distribute,
};
pub use reply::{
    AnalysisReply, AnalysisSummary, DistributionReply, PlannerLine, SetupReply, SharedFiles,
    TaskSummary,
};
