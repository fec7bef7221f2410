//! `release_file_lock(file_paths?, all?)`: the tool the seed lacked. Own locks only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::claim::MAX_PATHS_PER_CALL;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseArgs {
    /// The strings claimed (a directory or glob by the same string).
    #[serde(default)]
    #[schemars(length(max = MAX_PATHS_PER_CALL))]
    pub file_paths: Option<Vec<String>>,
    /// Every lock you hold, instead of file_paths.
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseResult {
    /// False when some path was not held by you.
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub released: Vec<String>,
    pub not_held: Vec<String>,
}
