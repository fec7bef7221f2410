//! `release_file_lock(file_paths?, all?)`: the tool the seed lacked. Own locks only.

use ccmulti_model::tools::claim::MAX_PATHS_PER_CALL;
use ccmulti_model::tools::{Release, ReleaseArgs, ReleaseResult, Tool};

use super::{Hints, Served, ToolContext, normalize_all};
use crate::coord::Released;
use crate::error::CoordError;
use crate::rules::handover::commit_first_message;
use crate::rules::locks::ReleaseScope;

impl Served for Release {
    const DESCRIPTION: &'static str = "Release file locks you hold, as soon as you finish editing them. Give file_paths, or all=true for every lock you hold. \
         A directory or glob lock is released by the same string it was claimed with. \
         Only your own locks are released; paths you do not hold are listed in not_held.";
    const HINTS: Hints = Hints {
        title: "Release file locks",
        read_only: false,
        destructive: true,
        idempotent: true,
    };

    async fn run(cx: &ToolContext<'_>, args: ReleaseArgs) -> Result<ReleaseResult, CoordError> {
        run(cx, args).await
    }
}

const NAME: &str = Release::NAME;

async fn run(cx: &ToolContext<'_>, args: ReleaseArgs) -> Result<ReleaseResult, CoordError> {
    let ReleaseArgs { file_paths, all } = args;
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
    let released = cx
        .coord
        .release_handing_over(
            &cx.roots.current_fresh(),
            &sa.session_id,
            &sa.agent_id,
            &scope,
        )
        .await?;
    let outcome = match released {
        Released::Done(outcome) => outcome,
        Released::CommitFirst(files) => {
            return Ok(ReleaseResult {
                success: false,
                message: Some(commit_first_message(&files)),
                released: Vec::new(),
                not_held: Vec::new(),
            });
        }
    };
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
    Ok(result)
}
