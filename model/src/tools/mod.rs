//! The coordination tools' arguments and results, one module per tool.
//! Arguments refuse unknown fields; results put `success` first and leave out
//! what does not apply, so the wire shape is what the seed's tools returned.

pub mod claim;
pub mod contract;
pub mod plan;
pub mod progress;
pub mod release;
pub mod status;

pub use claim::{ClaimArgs, ClaimResult, Conflict, GrantedLock, HandOver, LockWait, WaitCycle};
pub use contract::{Analyze, Claim, Distribute, Progress, Release, Setup, Status, Tool, ToolName};
pub use plan::{
    AgentPlan, AnalysisRef, AnalysisReply, AnalysisSummary, AnalyzeArgs, AssignedTask, Complexity,
    DistributeArgs, Distribution, DistributionReply, GivenTask, McpConfig, McpServer, PlannerLine,
    ProjectSummary, SetupArgs, SetupReply, SharedFiles, TaskSpec, TaskSummary,
};
pub use progress::{ProgressArgs, ProgressResult};
pub use release::{ReleaseArgs, ReleaseResult};
pub use status::{AgentStatus, LockStatus, NewsItem, StatusArgs, StatusResult, TaskState};
