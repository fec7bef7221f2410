//! `create_task_distribution(analysis_result, preferred_agent_count?)`.

use std::sync::Arc;

use rmcp::model::{CallToolResult, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use super::planning::distribute_and_record;
use super::{annotations, output_schema, result};
use crate::error::CoordError;
use crate::mcp::args::Args;
use crate::mcp::identity::Caller;
use crate::planner::Connection;
use crate::rules::plan::{MAX_AGENTS, MIN_AGENTS};
use crate::state::AppState;

const NAME: &str = "create_task_distribution";

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Planner: split the analysed tasks across agents, keeping colliding tasks on one agent and balancing the load. \
         Returns a shared preamble and, per agent, its tasks and files, conflict_notes, the `claude mcp add` line for \
         its terminal, a .mcp.json entry and its prompt; each terminal gets the preamble, then its prompt and notes. \
         The tasks are recorded as planned. Check the analysis's files first: a wrong file splits colliding tasks.",
        json!({
            "type": "object",
            "properties": {
                "analysis_result": {
                    "type": "object",
                    "description": "the result of analyze_task_conflicts (only its analysis_id is read)",
                    "properties": { "analysis_id": { "type": "string" } },
                    "required": ["analysis_id"]
                },
                "preferred_agent_count": { "type": "integer", "minimum": MIN_AGENTS, "maximum": MAX_AGENTS }
            },
            "required": ["analysis_result"],
            "additionalProperties": false
        }),
        output_schema(json!({
            "session_id": { "type": "string" },
            "agent_count": { "type": "integer" },
            "preamble": { "type": "string" },
            "agents": { "type": "array", "items": { "type": "object" } },
            "notes": { "type": "array", "items": { "type": "string" } }
        })),
        annotations("Create task distribution", false, false, true),
    )
}

pub async fn call(
    state: &Arc<AppState>,
    caller: &Caller,
    arguments: &JsonObject,
) -> Result<CallToolResult, CoordError> {
    let args = Args::new(
        NAME,
        arguments,
        &["analysis_result", "preferred_agent_count"],
    )?;
    let id = analysis_id(arguments.get("analysis_result"))?;
    let agents = args.optional_int(
        "preferred_agent_count",
        MIN_AGENTS as i64..=MAX_AGENTS as i64,
    )?;
    let sa = caller.session()?.clone();
    let analysis = state
        .coord
        .analysis(&sa.session_id, &id)
        .await?
        .ok_or_else(|| {
            CoordError::InvalidParams(format!(
                "{NAME}: analysis_result names analysis {id:?}, which was not made in session {:?}; \
                 call analyze_task_conflicts here first and pass its result unchanged",
                sa.session_id
            ))
        })?;
    let conn = Connection {
        public_url: state.public_url.clone(),
        auth_header: state.security.client_auth_header(),
        user_id: caller.user.user_id.clone(),
        session_id: sa.session_id.clone(),
    };
    let count = agents.map_or(analysis.recommended_agent_count, |n| n as usize);
    let plan = distribute_and_record(state, &conn, &analysis, count).await?;
    Ok(result(plan.reply()))
}

/// The id out of what analyze_task_conflicts returned: the object, or that object as a JSON string.
fn analysis_id(raw: Option<&Value>) -> Result<String, CoordError> {
    let invalid = |problem: &str| {
        CoordError::InvalidParams(format!(
            "{NAME}: analysis_result {problem}; pass the object analyze_task_conflicts returned (it carries an analysis_id)"
        ))
    };
    let parsed;
    let object = match raw {
        None | Some(Value::Null) => return Err(invalid("is required")),
        Some(Value::Object(map)) => map,
        Some(Value::String(s)) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|_| invalid("is a string that is not JSON"))?;
            parsed
                .as_object()
                .ok_or_else(|| invalid("is not an object"))?
        }
        Some(_) => return Err(invalid("is not an object")),
    };
    match object.get("analysis_id") {
        Some(Value::String(id)) if !id.is_empty() && id.len() <= 64 => Ok(id.clone()),
        Some(_) => Err(invalid("has an analysis_id that is not an id string")),
        None => Err(invalid(
            "has no analysis_id, so it did not come from analyze_task_conflicts",
        )),
    }
}
