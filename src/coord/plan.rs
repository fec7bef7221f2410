//! Planning as the service does it: analyse (off the async runtime, since the
//! scan reads the project) → keep the analysis in its session → distribute →
//! record the plan as `planned` tasks, with the planner registered in its
//! session. [`Coordinator::plan`] runs the whole sequence
//! (`setup_multi_agent_coordination`, `ccmulti plan`); the two planner tools
//! are its two halves, one call each ([`Coordinator::analyze`],
//! [`Coordinator::distribute`]); a plan drafted before the database was open
//! (`ccmulti team start`, which makes nothing until everything is checked)
//! is kept and recorded by [`Coordinator::record_plan`].

use ccmulti_model::tools::plan::Distribution;
use ccmulti_planner::{Analysis, Connection, Plan, PlanRequest};

use super::Coordinator;
use crate::store::{Result, StoreError};
use ccmulti_model::PLANNER;
use ccmulti_model::PlannedTask;

impl Coordinator {
    /// Analyses, keeps the analysis, distributes and records the plan, in
    /// `conn`'s session (made if new, with the planner registered in it).
    pub async fn plan(&self, conn: &Connection, request: PlanRequest) -> Result<Plan> {
        let (request, analysis) = analyze_off_runtime(request).await?;
        // The planner's registration makes the session the analysis belongs to.
        self.register_planner(conn).await?;
        self.keep_analysis(&conn.session_id, &analysis).await?;
        let mut distribution = request.distribute(&analysis, conn);
        self.record_tasks(conn, &analysis, &mut distribution)
            .await?;
        Ok(Plan {
            analysis,
            distribution,
        })
    }

    /// The first half alone (`analyze_task_conflicts`): analyses and keeps
    /// the analysis in `session`, which the caller is already in.
    pub async fn analyze(&self, session: &str, request: PlanRequest) -> Result<Analysis> {
        let (_, analysis) = analyze_off_runtime(request).await?;
        self.keep_analysis(session, &analysis).await?;
        Ok(analysis)
    }

    /// The analysis `analysis_id` kept in `session`, if there is one.
    pub async fn analysis(&self, session: &str, analysis_id: &str) -> Result<Option<Analysis>> {
        match self.store.load_analysis(session, analysis_id).await? {
            None => Ok(None),
            Some(body) => serde_json::from_str(&body)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("analysis {analysis_id}: {e}"))),
        }
    }

    /// The second half alone (`create_task_distribution`): deals a kept
    /// analysis's tasks to `agents` agents (or the recommended number) and
    /// records the plan.
    pub async fn distribute(
        &self,
        conn: &Connection,
        analysis: &Analysis,
        agents: Option<usize>,
    ) -> Result<Distribution> {
        let agents = analysis.agent_count(agents);
        let mut distribution = ccmulti_planner::distribute(analysis, agents, conn);
        self.register_planner(conn).await?;
        self.record_tasks(conn, analysis, &mut distribution).await?;
        Ok(distribution)
    }

    /// Keeps and records a plan drafted before the database was open, as
    /// [`Coordinator::plan`] would have. Returns the tasks kept with the
    /// agents that had already started them.
    pub async fn record_plan(&self, conn: &Connection, plan: &mut Plan) -> Result<Vec<String>> {
        self.register_planner(conn).await?;
        self.keep_analysis(&conn.session_id, &plan.analysis).await?;
        self.record_tasks(conn, &plan.analysis, &mut plan.distribution)
            .await
    }

    async fn register_planner(&self, conn: &Connection) -> Result<()> {
        self.store
            .touch_agent(&conn.virtual_user(PLANNER), &conn.url(PLANNER))
            .await
    }

    async fn keep_analysis(&self, session: &str, analysis: &Analysis) -> Result<()> {
        let body =
            serde_json::to_string(analysis).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store
            .save_analysis(session, &analysis.analysis_id, &body)
            .await
    }

    /// Records every task of `distribution` as `planned` for its agent; a
    /// task an agent has already started stays with it, as the plan's notes
    /// then say. Returns those kept tasks.
    async fn record_tasks(
        &self,
        conn: &Connection,
        analysis: &Analysis,
        distribution: &mut Distribution,
    ) -> Result<Vec<String>> {
        let kept = self
            .store
            .record_plan(&conn.session_id, &planned_rows(analysis, distribution))
            .await?;
        if !kept.is_empty() {
            distribution.notes.push(format!(
                "Already under way, so left with the agent working on it: {}.",
                kept.join(", ")
            ));
        }
        Ok(kept)
    }
}

/// Runs the analysis (a scan of the project: blocking I/O) on a blocking thread.
async fn analyze_off_runtime(request: PlanRequest) -> Result<(PlanRequest, Analysis)> {
    tokio::task::spawn_blocking(move || {
        let analysis = request.analyze();
        (request, analysis)
    })
    .await
    .map_err(|e| StoreError::Join(e.to_string()))
}

/// One `planned` progress row per task, for the store.
fn planned_rows(analysis: &Analysis, distribution: &Distribution) -> Vec<PlannedTask> {
    distribution
        .agents
        .iter()
        .flat_map(|a| {
            a.tasks.iter().filter_map(|t| {
                let task = analysis.task(&t.task_id)?;
                Some(PlannedTask {
                    agent_id: a.agent_id.clone(),
                    task_id: t.task_id.clone(),
                    description: task.description.clone(),
                    files: task.files.clone(),
                })
            })
        })
        .collect()
}
