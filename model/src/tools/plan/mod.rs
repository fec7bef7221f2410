//! The planner's tools: `analyze_task_conflicts(tasks, project_files=[],
//! complexity_level="moderate")`, `create_task_distribution(analysis_result,
//! preferred_agent_count?)` and `setup_multi_agent_coordination(user_message,
//! force_agent_count?)`: their arguments here, their results in [`reply`].

mod reply;

pub use reply::{
    AgentPlan, AnalysisReply, AnalysisSummary, AssignedTask, Distribution, DistributionReply,
    McpConfig, McpServer, PlannerLine, ProjectSummary, SetupReply, SharedFiles, TaskSummary,
};

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Agents a plan may use besides the planner.
pub const MIN_AGENTS: usize = 2;
pub const MAX_AGENTS: usize = 5;
/// Beyond this a list is a backlog, not a plan for a handful of terminals.
pub const MAX_TASKS: usize = 50;
pub const MAX_TASK_DESCRIPTION: usize = 2_000;
pub const MAX_FILES_PER_TASK: usize = 100;
pub const MAX_PROJECT_FILES: usize = 10_000;
pub const MAX_USER_MESSAGE: usize = 20_000;

pub const TASK_FORM: &str =
    "each task is a string, or {\"description\": string, \"files\": [paths]}";
const ANALYSIS_FORM: &str =
    "pass the object analyze_task_conflicts returned (it carries an analysis_id)";

/// How hard the work is: caps the recommended agent count at 3, 4 or 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Simple,
    #[default]
    Moderate,
    Complex,
}

impl Complexity {
    pub const ACCEPTED: &'static str = "simple, moderate or complex";

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "simple" => Some(Self::Simple),
            "moderate" => Some(Self::Moderate),
            "complex" => Some(Self::Complex),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Moderate => "moderate",
            Self::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeArgs {
    /// Each task is a string, or {"description": string, "files": [paths]}.
    #[schemars(length(min = 1, max = MAX_TASKS))]
    pub tasks: Vec<TaskSpec>,
    /// Analyse only these files; empty scans the project root.
    #[serde(default)]
    #[schemars(length(max = MAX_PROJECT_FILES))]
    pub project_files: Vec<String>,
    #[serde(default)]
    pub complexity_level: Complexity,
}

/// A task: its description, or its description with the files it edits.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TaskSpec {
    Description(#[schemars(length(min = 1, max = MAX_TASK_DESCRIPTION))] String),
    Given(GivenTask),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GivenTask {
    #[schemars(length(min = 1, max = MAX_TASK_DESCRIPTION))]
    pub description: String,
    /// The files it edits (not directories or globs).
    #[serde(default)]
    #[schemars(length(max = MAX_FILES_PER_TASK))]
    pub files: Option<Vec<String>>,
}

/// Each wrong shape said in a task's own terms (an untagged enum's own error
/// would only say that nothing matched).
impl<'de> Deserialize<'de> for TaskSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wrong = |problem: &str| D::Error::custom(format!("{problem}; {TASK_FORM}"));
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Self::Description(s)),
            Value::Object(map) => {
                if let Some(k) = map
                    .keys()
                    .find(|k| !matches!(k.as_str(), "description" | "files"))
                {
                    return Err(wrong(&format!("has an unknown field {k:?}")));
                }
                if !map.get("description").is_some_and(Value::is_string) {
                    return Err(wrong("needs a description string"));
                }
                if map
                    .get("files")
                    .is_some_and(|f| !(f.is_array() || f.is_null()))
                {
                    return Err(wrong("files must be a list of paths"));
                }
                GivenTask::deserialize(Value::Object(map))
                    .map(Self::Given)
                    .map_err(|e| wrong(&format!("files must hold path strings ({e})")))
            }
            _ => Err(wrong("is neither a string nor an object")),
        }
    }
}

impl TaskSpec {
    pub fn description(&self) -> &str {
        match self {
            Self::Description(d) => d,
            Self::Given(g) => &g.description,
        }
    }

    pub fn files(&self) -> Option<&[String]> {
        match self {
            Self::Description(_) => None,
            Self::Given(g) => g.files.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributeArgs {
    pub analysis_result: AnalysisRef,
    #[schemars(range(min = MIN_AGENTS, max = MAX_AGENTS))]
    pub preferred_agent_count: Option<usize>,
}

/// What analyze_task_conflicts returned (only its `analysis_id` is read), or
/// that object as a JSON string, as some clients pass it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AnalysisRef {
    pub analysis_id: String,
}

impl<'de> Deserialize<'de> for AnalysisRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wrong = |problem: &str| D::Error::custom(format!("{problem}; {ANALYSIS_FORM}"));
        let object: Map<String, Value> = match Value::deserialize(d)? {
            Value::Object(map) => map,
            Value::String(s) => match serde_json::from_str::<Value>(&s) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(wrong("is not an object")),
                Err(_) => return Err(wrong("is a string that is not JSON")),
            },
            _ => return Err(wrong("is not an object")),
        };
        match object.get("analysis_id") {
            Some(Value::String(id)) if !id.is_empty() && id.len() <= 64 => Ok(Self {
                analysis_id: id.clone(),
            }),
            Some(_) => Err(wrong("has an analysis_id that is not an id string")),
            None => Err(wrong(
                "has no analysis_id, so it did not come from analyze_task_conflicts",
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupArgs {
    /// A request with numbered or bulleted tasks, e.g. "split these across agents: 1. ... 2. ...".
    #[schemars(length(min = 1, max = MAX_USER_MESSAGE))]
    pub user_message: String,
    #[schemars(range(min = MIN_AGENTS, max = MAX_AGENTS))]
    pub force_agent_count: Option<usize>,
}
