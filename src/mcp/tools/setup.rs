//! `setup_multi_agent_coordination(user_message, force_agent_count?)`: the
//! one-shot path from a person's request to a plan with every terminal's command.

use ccmulti_model::tools::plan::MAX_TASKS;
use ccmulti_model::tools::{PlannerLine, Setup, SetupArgs, SetupReply, Tool};
use ccmulti_model::{PLANNER, SessionAgent, VirtualUser, agent_url};
use ccmulti_planner::request::{self, EXPECTED_FORM};
use ccmulti_planner::{PlanRequest, TaskInput};

use super::planning::connection;
use super::{Hints, Served, ToolContext};
use crate::error::CoordError;
use crate::store::StoreError;

impl Served for Setup {
    const DESCRIPTION: &'static str = "Turn a request such as \"split these across agents: 1. ... 2. ...\" into a full plan in one step: the tasks' \
         conflicts, who does what, and the `claude mcp add` line and prompt for every terminal.";
    const HINTS: Hints = Hints {
        title: "Set up multi-agent coordination",
        read_only: false,
        destructive: false,
        idempotent: false,
    };

    async fn run(cx: &ToolContext<'_>, args: SetupArgs) -> Result<SetupReply, CoordError> {
        run(cx, args).await
    }
}

const NAME: &str = Setup::NAME;

async fn run(cx: &ToolContext<'_>, args: SetupArgs) -> Result<SetupReply, CoordError> {
    let SetupArgs {
        user_message,
        force_agent_count: forced,
    } = args;
    let asked = request::parse(&user_message);
    let refusal = if !asked.wants_agents {
        Some("This message does not ask for work to be split across agents.")
    } else if asked.tasks.is_empty() {
        Some("This message asks for several agents but lists no tasks.")
    } else {
        None
    };
    if let Some(why) = refusal {
        let refused = SetupReply {
            success: false,
            message: Some(why.to_owned()),
            expected_form: Some(EXPECTED_FORM.to_owned()),
            session_id: None,
            analysis: None,
            distribution: None,
            planner: None,
        };
        return Ok(refused);
    }
    if asked.tasks.len() > MAX_TASKS {
        return Err(CoordError::InvalidParams(format!(
            "{NAME}: user_message lists {} tasks; at most {MAX_TASKS} are accepted: plan a first batch, then the next",
            asked.tasks.len()
        )));
    }
    let (session, new_session) = session_for(cx).await?;
    let tasks = asked
        .tasks
        .into_iter()
        .map(|description| TaskInput {
            description,
            files: None,
        })
        .collect();
    let conn = connection(cx, &cx.caller.user.user_id, &session.session_id);
    let request = PlanRequest {
        agents: forced,
        ..PlanRequest::new(cx.root.to_path_buf(), tasks)
    };
    let plan = cx.coord.plan(&conn, request).await?;
    let planner = new_session.then(|| PlannerLine {
        note: "You called without a session, so a new one was made. To use the planner's tools in it, connect this terminal as its planner:".to_owned(),
        claude_mcp_add: conn.claude_mcp_add(PLANNER),
    });
    let reply = SetupReply {
        success: true,
        message: None,
        expected_form: None,
        session_id: Some(session.session_id),
        analysis: Some(plan.analysis.summary()),
        distribution: Some(plan.distribution),
        planner,
    };
    Ok(reply)
}

/// The caller's session, or a new one (with the caller as its planner) when the URL had none.
async fn session_for(cx: &ToolContext<'_>) -> Result<(SessionAgent, bool), CoordError> {
    let caller = cx.caller;
    if let Some(sa) = &caller.user.session {
        return Ok((sa.clone(), false));
    }
    let short = uuid::Uuid::new_v4().simple().to_string();
    let session = format!("plan-{}", &short[..8]);
    let planner = VirtualUser::agent(&caller.user.user_id, &session, PLANNER);
    cx.coord
        .register(&planner, &agent_url(cx.public_url, &planner))
        .await?;
    let sa = planner
        .session
        .ok_or_else(|| StoreError::Corrupt("session vanished".into()))?;
    Ok((sa, true))
}
