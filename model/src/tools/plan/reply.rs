//! What the planner tools answer, as types: their `outputSchema`s are
//! generated from these, so every field a planner model reads is described.
//! The planner (the `ccmulti-planner` crate) fills them in.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An analysis as the planner model reads it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AnalysisSummary {
    /// Pass the whole result (or this id) to create_task_distribution.
    pub analysis_id: String,
    pub recommended_agent_count: usize,
    pub tasks: Vec<TaskSummary>,
    /// Pairs of tasks that edit the same files: they go to one agent.
    pub shared_files: Vec<SharedFiles>,
    /// Shared-file pairs beyond those listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_files_not_listed: Option<usize>,
    /// How many pairs of tasks meet only through imports (a note, not a conflict).
    pub import_links: usize,
    /// Short task ids that must share an agent.
    pub groups: Vec<Vec<String>>,
    pub project: ProjectSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TaskSummary {
    pub task_id: String,
    /// Each file the task edits, best first, with why: the matched words and
    /// the score (`"retry,session:7"`), or `"given"`.
    #[schemars(with = "BTreeMap<String, String>")]
    pub files: Map<String, Value>,
    /// The next files below the cut, best first, for the planner to confirm or swap in.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub candidates: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SharedFiles {
    /// The two tasks, by short id (`T3`).
    pub tasks: [String; 2],
    pub files: Vec<String>,
    /// The file is only a weak match for one of them: they share an agent
    /// only while the load allows; confirm or correct it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub weak: bool,
}

/// `analyze_task_conflicts`' answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AnalysisReply {
    pub success: bool,
    #[serde(flatten)]
    pub summary: AnalysisSummary,
    /// What to do with it.
    pub next: String,
}

/// `create_task_distribution`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DistributionReply {
    pub success: bool,
    #[serde(flatten)]
    pub plan: Distribution,
}

/// `setup_multi_agent_coordination`'s answer: the plan, or why there is none
/// and the form of message expected.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SetupReply {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_form: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Distribution>,
    /// Called without a session: the new session's planner line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planner: Option<PlannerLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlannerLine {
    pub note: String,
    pub claude_mcp_add: String,
}

/// A reply as its text block carries it: compact JSON.
macro_rules! display_as_json {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
            }
        }
    )*};
}

display_as_json!(AnalysisReply, DistributionReply, SetupReply);

/// A Claude Code MCP configuration (`.mcp.json`, or `claude --mcp-config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct McpConfig {
    #[serde(rename = "mcpServers")]
    pub mcp_servers: BTreeMap<String, McpServer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct McpServer {
    /// `http`: MCP over Streamable HTTP.
    #[serde(rename = "type")]
    pub transport: String,
    pub url: String,
    /// `Authorization` with a `${CCMULTI_TOKEN}` reference when the coordinator wants a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
}

/// A task by id: its description and files are in the agent's prompt, said once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssignedTask {
    pub task_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentPlan {
    pub agent_id: String,
    pub tasks: Vec<AssignedTask>,
    /// The files this agent edits. Another agent of the plan is given one of
    /// them only when the overlap is a weak (medium) conflict, and a conflict
    /// note says so.
    pub files: Vec<String>,
    /// What this agent's tasks share with others; not repeated in the prompt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflict_notes: Vec<String>,
    /// For a terminal in its own checkout or worktree.
    pub claude_mcp_add: String,
    pub mcp_json: McpConfig,
    /// For terminals sharing one checkout: start claude with this, beside `shared_mcp_json`.
    pub start: String,
    /// This agent's tasks with their files; it follows the shared `preamble`.
    pub prompt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Distribution {
    pub analysis_id: String,
    pub session_id: String,
    pub agent_count: usize,
    /// What every agent is told first (the coordination rules), once for all.
    pub preamble: String,
    pub agents: Vec<AgentPlan>,
    /// Terminals in one checkout share its MCP config: one `.mcp.json` whose URL
    /// ends in `${CCMULTI_AGENT}`, and each terminal's `start` line.
    pub shared_mcp_json: McpConfig,
    pub notes: Vec<String>,
}

/// What the scan read, for the planner model to judge the analysis by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectSummary {
    pub files_scanned: usize,
    pub source_files: usize,
    pub languages: BTreeMap<String, usize>,
    pub import_edges: usize,
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<String>,
}

impl Distribution {
    /// What `create_task_distribution` answers.
    pub fn reply(&self) -> DistributionReply {
        DistributionReply {
            success: true,
            plan: self.clone(),
        }
    }
}
