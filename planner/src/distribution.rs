//! The second step, `create_task_distribution`: who does what, and what
//! each terminal pastes.

use std::collections::{BTreeMap, BTreeSet};

use ccmulti_model::tools::plan::{AgentPlan, AssignedTask, Distribution, McpConfig, McpServer};
use ccmulti_model::{VirtualUser, agent_url};

use crate::analysis::{Analysis, AnalyzedTask, short_id};
use crate::balance::{balance, join_weak_ties};

/// Where the agents connect: this coordinator, the planner's user and session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub public_url: String,
    pub user_id: String,
    pub session_id: String,
    /// The `Authorization` value clients send when the coordinator has a token;
    /// a `${CCMULTI_TOKEN}` reference, never the token itself.
    pub auth_header: Option<String>,
}

impl Connection {
    /// The line one terminal runs. Single quotes keep `${CCMULTI_TOKEN}` for
    /// Claude Code to expand when it connects, so the secret is not stored.
    pub fn claude_mcp_add(&self, agent: &str) -> String {
        let mut line = format!(
            "claude mcp add --transport http ccmulti {}",
            self.url(agent)
        );
        if let Some(value) = &self.auth_header {
            line.push_str(&format!(" --header 'Authorization: {value}'"));
        }
        line
    }

    /// A `.mcp.json` with one `ccmulti` server at `url`.
    pub fn mcp_json(&self, url: &str) -> McpConfig {
        let server = McpServer {
            transport: "http".into(),
            url: url.to_owned(),
            headers: self
                .auth_header
                .as_ref()
                .map(|value| [("Authorization".to_owned(), value.clone())].into()),
        };
        McpConfig {
            mcp_servers: [("ccmulti".to_owned(), server)].into(),
        }
    }

    pub fn url(&self, agent: &str) -> String {
        agent_url(&self.public_url, self.virtual_user(agent))
    }

    /// `agent` of this session, as this user.
    pub fn virtual_user(&self, agent: &str) -> VirtualUser {
        VirtualUser::agent(&self.user_id, &self.session_id, agent)
    }
}

pub fn agent_id(n: usize) -> String {
    format!("implementer-{n}")
}

/// Deals the analysed tasks to `agents` agents (2 to 5, checked by the caller).
pub fn distribute(analysis: &Analysis, agents: usize, conn: &Connection) -> Distribution {
    let index_of: BTreeMap<&str, usize> = analysis
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task_id.as_str(), i))
        .collect();
    let groups: Vec<Vec<usize>> = analysis
        .groups
        .iter()
        .map(|g| {
            g.iter()
                .filter_map(|id| index_of.get(id.as_str()).copied())
                .collect()
        })
        .filter(|g: &Vec<usize>| !g.is_empty())
        .collect();
    let weights: Vec<f64> = analysis.tasks.iter().map(AnalyzedTask::weight).collect();
    let weak_ties: Vec<(usize, usize)> = analysis
        .conflicts
        .iter()
        .filter(|c| c.kind == "shared_files" && c.severity != "high")
        .filter_map(|c| {
            Some((
                *index_of.get(c.tasks[0].as_str())?,
                *index_of.get(c.tasks[1].as_str())?,
            ))
        })
        .collect();
    let ties = [weak_ties, candidate_ties(analysis)].concat();
    let joined = join_weak_ties(&groups, &weights, &ties, agents);
    let dealt = balance(&joined, &weights, agents);
    let mut notes = Vec::new();
    if dealt.len() < agents {
        notes.push(format!(
            "{agents} agents were asked for, but shared files tie the tasks into {} group(s); {} agent(s) would have nothing to do, so the plan uses {}.",
            groups.len(),
            agents - dealt.len(),
            dealt.len()
        ));
    }
    let owner: BTreeMap<&str, String> = dealt
        .iter()
        .enumerate()
        .flat_map(|(a, tasks)| {
            tasks
                .iter()
                .map(move |t| (analysis.tasks[*t].task_id.as_str(), agent_id(a + 1)))
        })
        .collect();
    let agents_out: Vec<AgentPlan> = dealt
        .iter()
        .enumerate()
        .map(|(a, tasks)| agent_plan(analysis, conn, agent_id(a + 1), tasks, &owner))
        .collect();
    let unmatched: Vec<&str> = analysis
        .tasks
        .iter()
        .filter(|t| t.files.is_empty())
        .map(|t| t.task_id.as_str())
        .collect();
    if !unmatched.is_empty() {
        notes.push(format!(
            "No files were found for {}; their agents must claim files as they find them.",
            unmatched.join(", ")
        ));
    }
    Distribution {
        analysis_id: analysis.analysis_id.clone(),
        session_id: conn.session_id.clone(),
        agent_count: agents_out.len(),
        preamble: preamble(&conn.session_id),
        agents: agents_out,
        // The client puts each terminal's agent in when it connects.
        shared_mcp_json: conn.mcp_json(&agent_url(&conn.public_url, "${CCMULTI_AGENT}")),
        notes,
    }
}

/// One agent's part of the plan: its tasks and files, its notes, and what its terminal runs.
fn agent_plan(
    analysis: &Analysis,
    conn: &Connection,
    me: String,
    tasks: &[usize],
    owner: &BTreeMap<&str, String>,
) -> AgentPlan {
    let files: BTreeSet<String> = tasks
        .iter()
        .flat_map(|t| analysis.tasks[*t].files.iter().cloned())
        .collect();
    let assigned: Vec<AssignedTask> = tasks
        .iter()
        .map(|t| AssignedTask {
            task_id: analysis.tasks[*t].task_id.clone(),
        })
        .collect();
    AgentPlan {
        claude_mcp_add: conn.claude_mcp_add(&me),
        mcp_json: conn.mcp_json(&conn.url(&me)),
        start: format!("CCMULTI_AGENT={} claude", conn.virtual_user(&me)),
        prompt: prompt(&me, analysis, &assigned),
        conflict_notes: notes_for(analysis, &me, owner),
        agent_id: me,
        tasks: assigned,
        files: files.into_iter().collect(),
    }
}

/// Pairs of tasks where one's candidate (the next file below its cut) is a
/// file the other edits: the weakest sign that they meet, used only to keep
/// them on one agent when that costs nothing.
fn candidate_ties(analysis: &Analysis) -> Vec<(usize, usize)> {
    let mut ties = BTreeSet::new();
    for (i, a) in analysis.tasks.iter().enumerate() {
        for (j, b) in analysis.tasks.iter().enumerate() {
            if i != j && a.candidates.iter().any(|c| b.files.contains(&c.path)) {
                ties.insert((i.min(j), i.max(j)));
            }
        }
    }
    ties.into_iter().collect()
}

/// What an agent's tasks share, in as few sentences as there are things to say:
/// one per group of its tasks that edit the same files, and one per other
/// agent whose files meet its own through imports.
fn notes_for(analysis: &Analysis, me: &str, owner: &BTreeMap<&str, String>) -> Vec<String> {
    let mine = |id: &str| owner.get(id).is_some_and(|o| o == me);
    let mut notes = Vec::new();
    for group in analysis
        .groups
        .iter()
        .filter(|g| g.len() > 1 && mine(&g[0]))
    {
        let shared: BTreeSet<&str> = analysis
            .conflicts
            .iter()
            .filter(|c| c.severity == "high" && group.contains(&c.tasks[0]))
            .flat_map(|c| c.files.iter().map(String::as_str))
            .collect();
        let ids: Vec<&str> = group.iter().map(|id| short_id(id)).collect();
        notes.push(format!(
            "{} edit the same files ({}): do them one after the other.",
            ids.join(", "),
            shared.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut next_to: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut maybe_shared: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in analysis.conflicts.iter().filter(|c| c.severity != "high") {
        let [a, b] = &c.tasks;
        let other = match (mine(a), mine(b)) {
            (true, false) => b,
            (false, true) => a,
            _ => continue,
        };
        let notes = if c.kind == "shared_files" {
            &mut maybe_shared
        } else {
            &mut next_to
        };
        if let Some(agent) = owner.get(other.as_str()) {
            notes
                .entry(agent)
                .or_default()
                .extend(c.files.iter().map(String::as_str));
        }
    }
    for (agent, files) in maybe_shared {
        notes.push(format!(
            "{agent} may also edit {} (a weaker match): claim before editing.",
            files.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    for (agent, files) in next_to {
        notes.push(format!(
            "{agent}'s tasks meet yours through the imports of {}: claim before editing them and say in sync_progress when an interface changes.",
            files.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    notes
}

/// The rules every agent follows, said once for the whole plan.
fn preamble(session: &str) -> String {
    format!(
        "You are one of several agents in ccmulti session {session}, editing this repository at the same time. \
         claim_file_lock(file_paths, operation=\"write\") before editing a file; if another agent holds it, do something else or claim again with wait_seconds. \
         sync_progress(task_id, status, progress_percentage) at the start (\"started\"), as you go and at the end (\"completed\", or \"failed\"/\"blocked\" with a message). \
         release_file_lock as soon as a file is done. check_agent_status shows the others. \
         The files listed are a first guess: claim others as you find you need them."
    )
}

/// One agent's part: who it is and its tasks with their files.
fn prompt(me: &str, analysis: &Analysis, tasks: &[AssignedTask]) -> String {
    let mut text = format!("You are {me}. Your tasks:\n");
    for t in tasks {
        let Some(task) = analysis.task(&t.task_id) else {
            continue;
        };
        let files = if task.files.is_empty() {
            "find them as you go".to_owned()
        } else {
            task.files.join(", ")
        };
        text.push_str(&format!(
            "- {}: {} (files: {files})\n",
            t.task_id, task.description
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ConflictReport;
    use ccmulti_model::tools::plan::ProjectSummary;
    use serde_json::json;

    fn task(id: &str, files: &[&str]) -> AnalyzedTask {
        AnalyzedTask {
            task_id: id.into(),
            description: id.into(),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            related: Vec::new(),
            files_given: false,
            reasons: Vec::new(),
            candidates: Vec::new(),
        }
    }

    /// A medium (weak) overlap ties nothing: with room for it the two tasks
    /// share an agent; without, they are split and each agent is told.
    #[test]
    fn a_weak_overlap_stays_together_only_while_the_load_allows() {
        let weak = |a: &str, b: &str| ConflictReport {
            kind: "shared_files".into(),
            severity: "medium".into(),
            tasks: [a.into(), b.into()],
            files: vec!["core.rs".into()],
        };
        let mut analysis = Analysis {
            analysis_id: "a".into(),
            complexity_level: "moderate".into(),
            tasks: vec![
                task("T1-a", &["core.rs"]),
                task("T2-b", &["core.rs"]),
                task("T3-c", &["c.rs"]),
                task("T4-d", &["d.rs"]),
            ],
            conflicts: vec![weak("T1-a", "T2-b")],
            groups: ["T1-a", "T2-b", "T3-c", "T4-d"]
                .iter()
                .map(|t| vec![(*t).to_owned()])
                .collect(),
            recommended_agent_count: 4,
            project: ProjectSummary {
                files_scanned: 5,
                source_files: 5,
                languages: BTreeMap::new(),
                import_edges: 0,
                elapsed_ms: 0,
                stopped_early: None,
            },
        };
        let conn = Connection {
            public_url: "http://127.0.0.1:7477".into(),
            user_id: "dev".into(),
            session_id: "s1".into(),
            auth_header: None,
        };
        let tasks_of = |plan: &Distribution| -> Vec<Vec<String>> {
            plan.agents
                .iter()
                .map(|a| a.tasks.iter().map(|t| t.task_id.clone()).collect())
                .collect()
        };
        let plan = distribute(&analysis, 2, &conn);
        assert!(tasks_of(&plan).contains(&vec!["T1-a".to_owned(), "T2-b".to_owned()]));
        assert!(plan.agents.iter().all(|a| a.conflict_notes.is_empty()));
        // Four agents: an even share is one task, so the weak overlap is split.
        let plan = distribute(&analysis, 4, &conn);
        assert_eq!(plan.agent_count, 4);
        let noted = plan
            .agents
            .iter()
            .filter(|a| {
                a.conflict_notes
                    .iter()
                    .any(|n| n.contains("may also edit core.rs"))
            })
            .count();
        assert_eq!(noted, 2, "{:?}", plan.agents);
        // A high conflict on the same file keeps them together at any count.
        analysis.conflicts[0].severity = "high".into();
        analysis.groups = vec![
            vec!["T1-a".into(), "T2-b".into()],
            vec!["T3-c".into()],
            vec!["T4-d".into()],
        ];
        let plan = distribute(&analysis, 4, &conn);
        assert!(tasks_of(&plan).contains(&vec!["T1-a".to_owned(), "T2-b".to_owned()]));
    }

    #[test]
    fn a_token_adds_a_header_that_refers_to_it() {
        let mut conn = Connection {
            public_url: "http://10.0.0.2:7477".into(),
            user_id: "dev".into(),
            session_id: "s1".into(),
            auth_header: None,
        };
        let url = "http://10.0.0.2:7477/mcp/v2/claude/dev__session__s1__a";
        assert_eq!(
            conn.claude_mcp_add("a"),
            format!("claude mcp add --transport http ccmulti {url}")
        );
        assert_eq!(
            serde_json::to_value(conn.mcp_json(url)).unwrap(),
            json!({ "mcpServers": { "ccmulti": { "type": "http", "url": url } } })
        );
        conn.auth_header = Some("Bearer ${CCMULTI_TOKEN}".into());
        assert_eq!(
            conn.claude_mcp_add("a"),
            format!(
                "claude mcp add --transport http ccmulti {url} --header 'Authorization: Bearer ${{CCMULTI_TOKEN}}'"
            )
        );
        assert_eq!(
            serde_json::to_value(conn.mcp_json(url)).unwrap()["mcpServers"]["ccmulti"]["headers"],
            json!({ "Authorization": "Bearer ${CCMULTI_TOKEN}" })
        );
    }
}
