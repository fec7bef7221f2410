//! `release_file_lock(file_paths?, all?)`: the tool the seed lacked. Own locks only.

use std::sync::{Arc, LazyLock};

use ccmulti_model::schema::{input_schema, output_schema};
use ccmulti_model::tools::{ReleaseArgs, ReleaseResult};
use rmcp::model::{JsonObject, ToolAnnotations};
use serde_json::Value;

use super::{ToolContext, ToolOutput, annotations, normalize_all};
use crate::error::CoordError;
use crate::mcp::typed_args;
use crate::rules::locks::ReleaseScope;
use ccmulti_model::tools::claim::MAX_PATHS_PER_CALL;

const NAME: &str = "release_file_lock";

static INPUT: LazyLock<JsonObject> = LazyLock::new(input_schema::<ReleaseArgs>);
static OUTPUT: LazyLock<Arc<JsonObject>> =
    LazyLock::new(|| Arc::new(output_schema::<ReleaseResult>()));

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Release file locks you hold, as soon as you finish editing them. Give file_paths, or all=true for every lock you hold. \
         A directory or glob lock is released by the same string it was claimed with. \
         Only your own locks are released; paths you do not hold are listed in not_held.",
        Value::Object(INPUT.clone()),
        OUTPUT.clone(),
        annotations("Release file locks", false, true, true),
    )
}

pub async fn call(cx: &ToolContext<'_>, arguments: &JsonObject) -> Result<ToolOutput, CoordError> {
    let ReleaseArgs { file_paths, all } = typed_args::parse(NAME, &INPUT, arguments)?;
    let scope = match (all, file_paths) {
        (true, Some(_)) => {
            return Err(CoordError::InvalidParams(format!(
                "{NAME}: give either file_paths or all=true, not both"
            )));
        }
        (true, None) => ReleaseScope::All,
        (false, Some(raw)) if !raw.is_empty() => {
            let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
            ReleaseScope::Paths(normalize_all(cx.roots, NAME, "file_paths", &raw)?)
        }
        (false, _) => {
            return Err(CoordError::InvalidParams(format!(
                "{NAME}: nothing to release; give file_paths (1 to {MAX_PATHS_PER_CALL} paths) or all=true"
            )));
        }
    };
    let sa = cx.caller.session()?.clone();
    let outcome = cx
        .coord
        .release(&sa.session_id, &sa.agent_id, &scope)
        .await?;
    let message = (!outcome.not_held.is_empty()).then(|| {
        format!(
            "you do not hold {}; only your own live locks can be released (check_agent_status shows who holds what)",
            outcome.not_held.join(", ")
        )
    });
    let result = ReleaseResult {
        success: outcome.not_held.is_empty(),
        message,
        released: outcome.released.into_iter().map(|l| l.path).collect(),
        not_held: outcome.not_held,
    };
    ToolOutput::typed(&result, result.success)
}
