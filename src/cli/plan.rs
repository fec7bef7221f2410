//! `ccmulti plan`: the planner's analysis and distribution for a person at a
//! terminal. Tasks come from a file or stdin, one per numbered or bulleted line.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ccmulti_model::tools::plan::{Complexity, Distribution, MAX_AGENTS, MAX_TASKS, MIN_AGENTS};
use ccmulti_model::{PLANNER, check_part};
use ccmulti_planner::request::task_lines;
use ccmulti_planner::{Analysis, Connection, PlanRequest, TaskInput};
use clap::Args;

use super::Common;
use super::args::ServeArgs;
use super::service::{Opening, with_service};
use crate::cli::out::outln;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// File with one task per line (numbered, bulleted or plain); `-` or nothing reads stdin.
    tasks: Option<PathBuf>,
    /// Agents to use besides the planner, 2 to 5 [default: the recommendation].
    #[arg(long, value_parser = clap::value_parser!(u8).range(MIN_AGENTS as i64..=MAX_AGENTS as i64))]
    agents: Option<u8>,
    /// simple, moderate or complex: caps the recommended agent count at 3, 4 or 5.
    #[arg(long, default_value = "moderate")]
    complexity: String,
    /// Session the agents join [default: a new `plan-…` id].
    #[arg(long)]
    session: Option<String>,
    /// User id that owns the session.
    #[arg(long, env = "USER", default_value = "local")]
    user: String,
    /// Print the plan as JSON (the tools' shape) instead of text.
    #[arg(long)]
    json: bool,
    /// Print only; do not record the tasks as planned in the database.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

pub fn plan(common: &Common, args: &PlanArgs) -> Result<ExitCode> {
    let complexity = Complexity::parse(&args.complexity).with_context(|| {
        format!(
            "--complexity {:?}: accepted: {}",
            args.complexity,
            Complexity::ACCEPTED
        )
    })?;
    let session = match &args.session {
        Some(s) => s.clone(),
        None => format!("plan-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    };
    for (name, part) in [("user", &args.user), ("session", &session)] {
        if let Err(problem) = check_part(name, part) {
            bail!("{problem}; use 1 to 128 characters of A-Z a-z 0-9 . _ - (no double underscore)");
        }
    }
    let tasks = read_tasks(args.tasks.as_ref())?;
    let request = PlanRequest {
        complexity,
        agents: args.agents.map(usize::from),
        ..PlanRequest::new(common.root()?, tasks)
    };
    let conn = Connection {
        public_url: common.public_url(),
        auth_header: common.client_auth_header(),
        user_id: args.user.clone(),
        session_id: session.clone(),
    };
    let ccmulti_planner::Plan {
        analysis,
        distribution: plan,
    } = if args.dry_run {
        ccmulti_planner::plan(&request, &conn)
    } else {
        with_service(common, Opening::CreateIfMissing, async |coord| {
            coord
                .plan(&conn, request)
                .await
                .with_context(|| recording(&conn))
        })?
    };
    if args.json {
        let out = serde_json::json!({ "analysis": analysis.summary(), "distribution": plan });
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_plan(&analysis, &plan, &conn, args.dry_run);
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn read_tasks(path: Option<&PathBuf>) -> Result<Vec<TaskInput>> {
    let text = match path.filter(|p| p.as_os_str() != "-") {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading tasks from stdin")?;
            s
        }
    };
    parse_tasks(&text)
}

/// One task per numbered or bulleted line, else per non-empty line.
pub(super) fn parse_tasks(text: &str) -> Result<Vec<TaskInput>> {
    let mut tasks = task_lines(text);
    if tasks.is_empty() {
        tasks = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
    }
    if tasks.is_empty() {
        bail!(
            "no tasks given; write one task per line, for example:\n1. Add rate limiting to the login endpoint\n2. Export invoices as PDF"
        );
    }
    if tasks.len() > MAX_TASKS {
        bail!(
            "{} tasks given; at most {MAX_TASKS} are accepted: plan a first batch, then the next",
            tasks.len()
        );
    }
    Ok(tasks
        .into_iter()
        .map(|description| TaskInput {
            description,
            files: None,
        })
        .collect())
}

/// What was being done when recording a plan failed.
pub(super) fn recording(conn: &Connection) -> String {
    format!("recording the plan in session {:?}", conn.session_id)
}

fn print_plan(analysis: &Analysis, plan: &Distribution, conn: &Connection, dry_run: bool) {
    let p = &analysis.project;
    outln!(
        "{} tasks for {} agents (recommended {}); project: {} files, {} source, {} import edges, {} ms",
        analysis.tasks.len(),
        plan.agent_count,
        analysis.recommended_agent_count,
        p.files_scanned,
        p.source_files,
        p.import_edges,
        p.elapsed_ms
    );
    if let Some(why) = &p.stopped_early {
        outln!("scan {why}");
    }
    if !analysis.conflicts.is_empty() {
        outln!("\nconflicts:");
        for c in &analysis.conflicts {
            let weak = match c.severity.as_str() {
                "medium" => " (a weaker match for one task: kept together only if the load allows)",
                _ => "",
            };
            outln!(
                "  {:<12} {} + {}: {}{weak}",
                c.kind,
                c.tasks[0],
                c.tasks[1],
                c.files.join(", ")
            );
        }
    }
    for note in &plan.notes {
        outln!("\nnote: {note}");
    }
    for t in &analysis.tasks {
        outln!("\n{}", t.task_id);
        if t.files.is_empty() {
            outln!("  no files found");
        }
        if t.files_given {
            for f in &t.files {
                outln!("  {f}  (given)");
            }
        }
        for r in &t.reasons {
            outln!("  {}  ({})", r.path, r.why);
        }
        for r in &t.candidates {
            outln!("  candidate: {}  ({})", r.path, r.why);
        }
    }
    outln!("\nevery agent's prompt starts with:\n  {}", plan.preamble);
    for a in &plan.agents {
        outln!("\n== {} ==", a.agent_id);
        outln!("  terminal:  {}", a.claude_mcp_add);
        outln!("  prompt:");
        for line in a
            .prompt
            .lines()
            .chain(a.conflict_notes.iter().map(String::as_str))
        {
            outln!("    {line}");
        }
    }
    outln!("\nplanner terminal: {}", conn.claude_mcp_add(PLANNER));
    if dry_run {
        outln!("(dry run: nothing recorded)");
    } else {
        outln!("recorded as planned tasks in session {}", conn.session_id);
    }
}
