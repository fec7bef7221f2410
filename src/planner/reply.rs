//! What the planner tools answer, as types: their `outputSchema`s are
//! generated from these, so every field a planner model reads is described.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use super::analysis::{
    Analysis, AnalyzedTask, ConflictReport, FileReason, ProjectSummary, short_id,
};
use super::distribution::Distribution;

/// Conflicts listed in a summary; the rest are counted, so a big plan stays readable.
const MAX_CONFLICTS_SHOWN: usize = 30;

/// What the planner model is asked to do with a lexical guess.
const NEXT_STEP: &str = "Check files and candidates with your own search; fix wrong ones by calling again with {description, files}; then";

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

impl Analysis {
    /// The analysis as the planner reads it: each task's files with why, the
    /// candidates below the cut, the files tasks share, the groups that must
    /// share an agent. Import links are only counted here: in a real project
    /// most tasks meet through a central module, and create_task_distribution
    /// turns them into one note per pair of agents.
    pub fn summary(&self) -> AnalysisSummary {
        let shared: Vec<&ConflictReport> = self
            .conflicts
            .iter()
            .filter(|c| c.kind == "shared_files")
            .collect();
        AnalysisSummary {
            analysis_id: self.analysis_id.clone(),
            recommended_agent_count: self.recommended_agent_count,
            tasks: self.tasks.iter().map(AnalyzedTask::summary).collect(),
            shared_files: shared
                .iter()
                .take(MAX_CONFLICTS_SHOWN)
                .map(|c| SharedFiles {
                    tasks: [
                        short_id(&c.tasks[0]).to_owned(),
                        short_id(&c.tasks[1]).to_owned(),
                    ],
                    files: c.files.clone(),
                    weak: c.severity != "high",
                })
                .collect(),
            shared_files_not_listed: (shared.len() > MAX_CONFLICTS_SHOWN)
                .then(|| shared.len() - MAX_CONFLICTS_SHOWN),
            import_links: self.conflicts.len() - shared.len(),
            groups: self
                .groups
                .iter()
                .filter(|g| g.len() > 1)
                .map(|g| g.iter().map(|id| short_id(id).to_owned()).collect())
                .collect(),
            project: self.project.clone(),
        }
    }

    /// What `analyze_task_conflicts` answers: the summary, and what to do next.
    pub fn reply(&self) -> AnalysisReply {
        AnalysisReply {
            success: true,
            summary: self.summary(),
            next: NEXT_STEP.to_owned(),
        }
    }
}

impl AnalyzedTask {
    /// Files and candidates as `{path: why}`; given files say so.
    fn summary(&self) -> TaskSummary {
        let reasons = |list: &[FileReason]| -> Map<String, Value> {
            list.iter()
                .map(|r| (r.path.clone(), Value::String(r.why.clone())))
                .collect()
        };
        let files = if self.files_given {
            self.files
                .iter()
                .map(|f| (f.clone(), Value::String("given".into())))
                .collect()
        } else {
            reasons(&self.reasons)
        };
        TaskSummary {
            task_id: self.task_id.clone(),
            files,
            candidates: reasons(&self.candidates),
        }
    }
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
