//! `tools/list` results rendered once per tool set and protocol era: the list
//! depends only on which tools the caller is entitled to (`ToolSet`) and on
//! the era rmcp shapes results for, so after the first request each answer
//! is a copy of cached bytes.

use std::sync::OnceLock;

use rmcp::model::ServerResult;
use serde_json::value::RawValue;

use super::headers::Era;
use crate::error::CoordError;
use crate::mcp::tools;
use crate::rules::clients::ToolSet;

const ERAS: [Era; 2] = [Era::Legacy, Era::Current];

static RENDERED: [[OnceLock<Box<RawValue>>; ERAS.len()]; ToolSet::ALL.len()] =
    [const { [const { OnceLock::new() }; ERAS.len()] }; ToolSet::ALL.len()];

/// The `result` of a `tools/list` for this tool set and era, as rmcp's
/// handler would send it.
pub(crate) fn rendered(set: ToolSet, era: Era) -> Result<&'static RawValue, CoordError> {
    let set_index = ToolSet::ALL.iter().position(|s| *s == set).unwrap_or(0);
    let era_index = ERAS.iter().position(|e| *e == era).unwrap_or(0);
    let slot = &RENDERED[set_index][era_index];
    if let Some(done) = slot.get() {
        return Ok(done);
    }
    let fresh = render(set, era)?;
    Ok(slot.get_or_init(|| fresh))
}

/// The same `ListToolsResult` the rmcp handler returns
/// ([`crate::mcp::server`]), adjusted for the era as rmcp's `Service` impl
/// for a `ServerHandler` adjusts every result before sending it.
fn render(set: ToolSet, era: Era) -> Result<Box<RawValue>, CoordError> {
    let mut result = ServerResult::ListToolsResult(tools::listing(set));
    adjust_for_era(&mut result, era);
    serde_json::value::to_raw_value(&result).map_err(CoordError::Encoding)
}

/// What rmcp's handler does to every result for the peer's version
/// (`rmcp::handler::server`, `handle_request`).
pub(crate) fn adjust_for_era(result: &mut ServerResult, era: Era) {
    match era {
        Era::Current => result.fill_missing_cache_hints(),
        Era::Legacy => {
            result.strip_result_type_for_legacy_peer();
            result.strip_non_object_output_for_legacy_peer();
        }
    }
}
